"""Placement benchmark: candidates and claims through HTTP, on SQLite or PostgreSQL.

    python bench/placement.py --providers 1000 --db sqlite|postgres

Providers get VCPU 64 (ratio 4), MEMORY_MB 262144, DISK_GB 2000; every 3rd has a custom
trait, every 5th is in an aggregate. Setup writes rows in bulk (it is not what we time);
every timed call goes through the ASGI app over httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
# httpx's ASGI transport tries `import sniffio` on every request; without the package that
# failed import costs more than some requests we time. Mark it absent once.
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

import httpx  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402

from novalite.auth import NoAuthAuthenticator  # noqa: E402
from novalite.db.engine import make_engine, session_factory  # noqa: E402
from novalite.services.placement.app import build_placement_app  # noqa: E402
from novalite.context import RequestContext  # noqa: E402
from novalite.services.placement.client import CandidateQuery, RequestGroup  # noqa: E402
from novalite.services.placement.db_models import (  # noqa: E402
    Allocation, Consumer, Inventory, PlacementAggregate, Project, ResourceClass, ResourceProvider,
    ResourceProviderAggregate, ResourceProviderTrait, Trait, User,
)
from novalite.services.placement.local_client import LocalPlacementClient  # noqa: E402
from novalite.services.placement.service import prepare_placement_database  # noqa: E402

HEADERS = {"x-auth-token": "admin:admin", "openstack-api-version": "placement 1.39"}
RESOURCES = "VCPU:2,MEMORY_MB:4096,DISK_GB:20"
AGGREGATE = "11111111-2222-3333-4444-555555555555"
TRAIT = "CUSTOM_BENCH_FAST"


@asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/placement.db"
        return
    import asyncpg

    name = f"plc_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1/{name}"
    finally:
        admin = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def populate(sm, providers: int, allocations: int) -> list[str]:  # type: ignore[no-untyped-def]
    rng = random.Random(42)
    async with sm.begin() as s:
        rc = {n: i for n, i in await s.execute(select(ResourceClass.name, ResourceClass.id))}
        trait_id = (await s.execute(insert(Trait).values(name=TRAIT).returning(Trait.id))).scalar_one()
        agg_id = (await s.execute(insert(PlacementAggregate).values(uuid=AGGREGATE)
                                  .returning(PlacementAggregate.id))).scalar_one()
        uuids = [str(uuid.uuid4()) for _ in range(providers)]
        rows = [{"id": i + 1, "uuid": u, "name": f"cn{i}", "generation": 1, "root_provider_id": i + 1}
                for i, u in enumerate(uuids)]
        await s.execute(insert(ResourceProvider), rows)
        inv = []
        for i in range(providers):
            inv += [{"resource_provider_id": i + 1, "resource_class_id": rc["VCPU"], "total": 64, "reserved": 0,
                     "min_unit": 1, "max_unit": 64, "step_size": 1, "allocation_ratio": 4.0},
                    {"resource_provider_id": i + 1, "resource_class_id": rc["MEMORY_MB"], "total": 262144,
                     "reserved": 0, "min_unit": 1, "max_unit": 262144, "step_size": 1, "allocation_ratio": 1.0},
                    {"resource_provider_id": i + 1, "resource_class_id": rc["DISK_GB"], "total": 2000,
                     "reserved": 0, "min_unit": 1, "max_unit": 2000, "step_size": 1, "allocation_ratio": 1.0}]
        await s.execute(insert(Inventory), inv)
        await s.execute(insert(ResourceProviderTrait),
                        [{"resource_provider_id": i + 1, "trait_id": trait_id} for i in range(0, providers, 3)])
        await s.execute(insert(ResourceProviderAggregate),
                        [{"resource_provider_id": i + 1, "aggregate_id": agg_id} for i in range(0, providers, 5)])
        if s.bind.dialect.name == "postgresql":
            await s.execute(select(func.setval("resource_providers_id_seq", providers)))
        project = (await s.execute(insert(Project).values(external_id="bench").returning(Project.id))).scalar_one()
        user = (await s.execute(insert(User).values(external_id="bench").returning(User.id))).scalar_one()
        consumers, allocs = [], []
        for _ in range(allocations):
            c = str(uuid.uuid4())
            rp = rng.randrange(providers) + 1
            consumers.append({"uuid": c, "project_id": project, "user_id": user, "generation": 0})
            for name, amount in (("VCPU", 2), ("MEMORY_MB", 4096), ("DISK_GB", 20)):
                allocs.append({"resource_provider_id": rp, "consumer_id": c, "resource_class_id": rc[name],
                               "used": amount})
        await s.execute(insert(Consumer), consumers)
        await s.execute(insert(Allocation), allocs)
        used = (select(func.sum(Allocation.used)).where(
            Allocation.resource_provider_id == Inventory.resource_provider_id,
            Allocation.resource_class_id == Inventory.resource_class_id).scalar_subquery())
        await s.execute(update(Inventory).values(used=func.coalesce(used, 0)))
    return uuids


def summarize(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


async def time_get(client: httpx.AsyncClient, params: str, repeat: int) -> tuple[float, float, float, int]:
    """Median and p95 wall time, median CPU time of this process (the app, the client and,
    for SQLite, the database), in ms, and the number of candidates returned."""
    count = 0
    samples, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        r = await client.get(f"/allocation_candidates?{params}")
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        r.raise_for_status()
        count = len(r.json()["allocation_requests"])
    return (*summarize(samples), statistics.median(cpu) * 1000, count)


async def time_local(sm, repeat: int) -> tuple[float, float, float, int]:  # type: ignore[no-untyped-def]
    """The scheduler's query, in-process (no HTTP): up to 1,000 candidates, disabled hosts out."""
    client = LocalPlacementClient(sm)
    ctx = RequestContext.admin()
    query = CandidateQuery(unsuffixed=RequestGroup(resources={"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20},
                                                   required=["!COMPUTE_STATUS_DISABLED"]), limit=1000)
    count = 0
    samples, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        body = await client.get_allocation_candidates(ctx, query)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        count = len(body["allocation_requests"])
    return (*summarize(samples), statistics.median(cpu) * 1000, count)


async def claim(client: httpx.AsyncClient, request: dict) -> int:  # type: ignore[type-arg]
    body = {**request, "project_id": "bench", "user_id": "bench", "consumer_generation": None,
            "consumer_type": "INSTANCE"}
    r = await client.put(f"/allocations/{uuid.uuid4()}", json=body)
    return r.status_code


async def run(args: argparse.Namespace) -> None:
    async with database(args.db) as url:
        engine = make_engine(url)
        await prepare_placement_database(engine)
        sm = session_factory(engine)
        await populate(sm, args.providers, args.allocations)
        async with engine.connect() as conn:
            # what autovacuum does shortly after a bulk load; plans differ wildly without it
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        app = build_placement_app(sm, NoAuthAuthenticator())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p",
                                     headers=HEADERS) as client:
            rows = []
            for label, params in (
                ("candidates, no limit", f"resources={RESOURCES}"),
                ("candidates, limit=50", f"resources={RESOURCES}&limit=50"),
                ("candidates, required=", f"resources={RESOURCES}&required={TRAIT}"),
                ("candidates, member_of=", f"resources={RESOURCES}&member_of={AGGREGATE}"),
            ):
                await time_get(client, params, 2)
                rows.append((label, *await time_get(client, params, args.repeat)))
            await time_local(sm, 2)
            rows.append(("in-process, limit=1000", *await time_local(sm, args.repeat)))
            pool = (await client.get(f"/allocation_candidates?resources={RESOURCES}")).json()["allocation_requests"]
            # The pool (up to 10,000 parsed candidates) is the benchmark's own data, not the
            # server's: keep the cyclic GC from walking it on every full collection of the
            # claims timed next (a server process would likewise gc.freeze() after start-up).
            gc.freeze()
            rng = random.Random(7)

            start, start_cpu = time.perf_counter(), time.process_time()
            statuses = [await claim(client, rng.choice(pool)) for _ in range(args.claims)]
            seq_rate = statuses.count(204) / (time.perf_counter() - start)
            seq_cpu = (time.process_time() - start_cpu) * 1000 / args.claims

            results: list[int] = []

            async def worker(n: int) -> None:
                for _ in range(n):
                    results.append(await claim(client, rng.choice(pool)))

            start, start_cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker(args.claims // 8) for _ in range(8)))
            conc_rate = results.count(204) / (time.perf_counter() - start)
            conc_cpu = (time.process_time() - start_cpu) * 1000 / len(results)
        over = await over_allocated(sm)
        await engine.dispose()

    print(f"\nnovalite placement, {args.providers} providers, {args.allocations} allocations, {args.db}")
    print(f"{'query':28} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'results':>8}")
    for label, median, p95, cpu, count in rows:
        print(f"{label:28} {median:10.1f} {p95:8.1f} {cpu:8.1f} {count:8d}")
    print(f"{'claims sequential':28} {seq_rate:10.0f} /s  ({statuses.count(409)} x 409, {seq_cpu:.1f} cpu ms each)")
    print(f"{'claims 8 concurrent':28} {conc_rate:10.0f} /s  ({results.count(409)} x 409, {conc_cpu:.1f} cpu ms each)")
    print(f"{'over-allocated (rp, rc)':28} {over:10d}")


async def over_allocated(sm) -> int:  # type: ignore[no-untyped-def]
    async with sm() as s:
        used = (select(Allocation.resource_provider_id.label("rp"), Allocation.resource_class_id.label("rc"),
                       func.sum(Allocation.used).label("used"))
                .group_by(Allocation.resource_provider_id, Allocation.resource_class_id).subquery())
        stmt = (select(func.count()).select_from(Inventory)
                .join(used, (used.c.rp == Inventory.resource_provider_id) & (used.c.rc == Inventory.resource_class_id))
                .where(used.c.used > (Inventory.total - Inventory.reserved) * Inventory.allocation_ratio))
        return (await s.execute(stmt)).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--allocations", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--claims", type=int, default=400)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
