"""Scheduler benchmark: one decision among 1,000 or 10,000 hosts, and 100 concurrent boots.

    python bench/scheduler.py --hosts 1000 10000 --decisions 50 --concurrent 100

Hosts are records and inventories only (no compute process each): every host is written
through the conductor's `register_compute` over the bus, and its provider, inventory
(64 VCPU at ratio 4, 256 GiB RAM, 2 TB disk) and traits through the in-process placement
client, as a compute's resource tracker would. Setup is not timed.

Timed: `select_destinations` over the in-memory bus: the placement query (with Nova's
default prefilters and `max_placement_results` 1000), HostStates from the scheduler's
host cache, Nova's default filters and weighers, and the claim in placement. "Boots" are
100 `select_destinations` calls at once, each for a new instance (the scheduling part of
a boot; there is no compute process to spawn on).

Each single decision is also broken down by step, in process CPU time (robust to other
load on the machine) and wall time, with the time the garbage collector took during it.
`--keep-data DIR` keeps the registered hosts under DIR/<hosts> for the next run (the API
database's cell mappings name the cell databases by absolute path: move or copy such a
directory and the copy still uses the original's cell databases).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import delete, insert  # noqa: E402

from novalite.bootstrap import Cloud  # noqa: E402
from novalite.config import Settings  # noqa: E402
from novalite.context import RequestContext  # noqa: E402
from novalite.db.cell_models import Instance  # noqa: E402
from novalite.drivers.base import HostResources  # noqa: E402
from novalite.heap import settle_after_start  # noqa: E402
from novalite.records import FlavorRecord, ImageRecord, RequestSpecRecord  # noqa: E402
from novalite.services.compute.resource_tracker import inventory_from  # noqa: E402
from novalite.services.conductor.rpcapi import ConductorAPI  # noqa: E402
from novalite.services.scheduler import pipeline  # noqa: E402
from novalite.services.scheduler.host_manager import HostCache  # noqa: E402
from novalite.services.scheduler.placement_query import plan_for  # noqa: E402
from novalite.services.scheduler.rpcapi import SchedulerAPI  # noqa: E402

FLAVOR = FlavorRecord(flavorid="bench", name="bench", vcpus=2, memory_mb=4096, root_gb=20)
BATCH = 50


STEPS = ("aggregates", "placement query", "host cache", "instance counts", "host states", "filters",
         "weighers", "claim")


class StepClock:
    """Wall and CPU seconds per step of a decision, by wrapping what the scheduler calls for each.

    "other" (the bus, the request spec, prefilters, selections) is the decision's total minus
    the steps. GC is the collector's share, already inside whichever step it interrupted.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._restore = contextlib.ExitStack()
        self._gc_started = 0.0

    def __enter__(self) -> StepClock:
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore.close()

    def install(self, placement: Any) -> None:
        for owner, attr, step in (
            (pipeline, "load_aggregates", "aggregates"), (placement, "get_allocation_candidates", "placement query"),
            (HostCache, "nodes_for", "host cache"), (pipeline, "instance_counts", "instance counts"),
            (pipeline, "build_host_states", "host states"), (pipeline.Pipeline, "run_filters", "filters"),
            (pipeline.Pipeline, "weigh", "weighers"), (placement, "claim_resources", "claim"),
        ):
            self._wrap(owner, attr, step)
        gc.callbacks.append(self._on_gc)
        self._restore.callback(gc.callbacks.remove, self._on_gc)

    def _wrap(self, owner: Any, attr: str, step: str) -> None:
        original: Callable[..., Any] = getattr(owner, attr)
        clock = self

        if asyncio.iscoroutinefunction(original):
            @functools.wraps(original)
            async def timed(*args: Any, **kwargs: Any) -> Any:
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    return await original(*args, **kwargs)
                finally:
                    clock.wall[step] += time.perf_counter() - wall
                    clock.cpu[step] += time.process_time() - cpu
        else:
            @functools.wraps(original)
            def timed(*args: Any, **kwargs: Any) -> Any:
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    return original(*args, **kwargs)
                finally:
                    clock.wall[step] += time.perf_counter() - wall
                    clock.cpu[step] += time.process_time() - cpu

        setattr(owner, attr, timed)
        self._restore.callback(setattr, owner, attr, original)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.process_time()
        else:
            self.cpu["GC"] += time.process_time() - self._gc_started

    def reset(self) -> None:
        self.wall.clear()
        self.cpu.clear()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def spec_for(instance_uuid: str) -> RequestSpecRecord:
    return RequestSpecRecord(instance_uuid=instance_uuid, project_id="bench", user_id="bench",
                             flavor=FLAVOR, image=ImageRecord(id="bench"))


async def register_hosts(cloud: Cloud, count: int) -> None:
    runtime = cloud.runtime
    assert runtime is not None and runtime.placement is not None
    conductor, placement, ctx = ConductorAPI(runtime.bus), runtime.placement, RequestContext.admin()

    async def one(i: int) -> None:
        host = f"bench-{i:05d}"
        resources = HostResources(hypervisor_hostname=host, hypervisor_type="fake", vcpus=64,
                                  memory_mb=262144, local_gb=2000, cpu_info={"arch": "x86_64"},
                                  traits=["HW_CPU_X86_SSE2", "HW_CPU_X86_AVX"])
        reply = await conductor.register_compute(ctx, host, resources)
        node = reply["node_uuid"]
        await placement.ensure_resource_provider(ctx, node, host)
        await placement.set_inventory(ctx, node, inventory_from(resources, runtime.settings.compute))
        await placement.set_traits(ctx, node, resources.traits)

    for start in range(0, count, BATCH):
        await asyncio.gather(*(one(i) for i in range(start, min(start + BATCH, count))))


async def add_instances(cloud: Cloud, hosts: int, per_host: int) -> None:
    """Instance rows on every host (1 in 50 still building), so instance statistics cost what they would."""
    runtime = cloud.runtime
    assert runtime is not None
    cells = runtime.require_cells()
    cell = cells.cells_with_hosts()[0]
    flavor = FLAVOR.model_dump(mode="json")
    async with cells.session(cell.uuid) as session:
        await session.execute(delete(Instance).where(Instance.project_id == "bench"))
        for start in range(0, hosts, 1000):
            rows = [{"uuid": str(uuid.uuid4()), "display_name": "bench", "project_id": "bench", "user_id": "bench",
                     "host": f"bench-{i:05d}", "node": f"bench-{i:05d}", "image_ref": "bench", "flavor": flavor,
                     "vm_state": "building" if (i * per_host + k) % 50 == 0 else "active"}
                    for i in range(start, min(start + 1000, hosts)) for k in range(per_host)]
            if rows:
                await session.execute(insert(Instance), rows)
        await session.commit()


def data_dir(keep: Path | None, hosts: int) -> contextlib.AbstractContextManager[str]:
    """A throw-away directory, or `keep/<hosts>` kept between runs so the setup is paid once."""
    if keep is None:
        # tmpfs when there is one: setup writes ~40,000 rows one transaction at a time
        return tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    path = keep / str(hosts)
    path.mkdir(parents=True, exist_ok=True)
    return contextlib.nullcontext(str(path))


async def measure(hosts: int, decisions: int, concurrent: int, max_results: int,
                  keep: Path | None = None, per_host: int = 0) -> dict[str, float]:
    with data_dir(keep, hosts) as tmp:
        marker, instances_marker = Path(tmp) / "registered", Path(tmp) / "instances-per-host"
        settings = Settings(
            service={"data_dir": Path(tmp), "service_down_time": 86400.0},
            compute={"fake_host_count": 0},
            bus={"call_timeout": 600.0},
            scheduler={"max_placement_results": max_results},
        )
        cloud = Cloud(settings=settings, roles={"scheduler", "conductor", "placement"}, all_in_one=False)
        await cloud.start()
        try:
            began = time.perf_counter()
            if not marker.exists():
                await register_hosts(cloud, hosts)
                marker.write_text(str(hosts))
            if not instances_marker.exists() or instances_marker.read_text() != str(per_host):
                await add_instances(cloud, hosts, per_host)
                instances_marker.write_text(str(per_host))
            setup = time.perf_counter() - began
            assert cloud.runtime is not None
            settle_after_start()   # as `novalite serve` does once started (the setup is start-up here)
            scheduler, ctx = SchedulerAPI(cloud.runtime.bus), RequestContext.admin()
            first = time.perf_counter()
            await scheduler.select_destinations(ctx, spec_for(str(uuid.uuid4())), [str(uuid.uuid4())])
            cold = time.perf_counter() - first   # loads the host cache
            times, cpu_times = [], []
            with StepClock() as clock:
                clock.install(cloud.runtime.placement)
                clock.reset()
                for _ in range(decisions):
                    instance = str(uuid.uuid4())
                    start, cpu = time.perf_counter(), time.process_time()
                    await scheduler.select_destinations(ctx, spec_for(instance), [instance])
                    times.append(time.perf_counter() - start)
                    cpu_times.append(time.process_time() - cpu)
                steps = {f"{name}_cpu_ms": clock.cpu[name] / decisions * 1000 for name in (*STEPS, "GC")}
                steps.update({f"{name}_wall_ms": clock.wall[name] / decisions * 1000 for name in STEPS})
                steps["other_cpu_ms"] = (sum(cpu_times) - sum(clock.cpu[n] for n in STEPS)) / decisions * 1000
                steps["other_wall_ms"] = (sum(times) - sum(clock.wall[n] for n in STEPS)) / decisions * 1000
            instances = [str(uuid.uuid4()) for _ in range(concurrent)]
            start = time.perf_counter()
            await asyncio.gather(*(scheduler.select_destinations(ctx, spec_for(i), [i]) for i in instances))
            burst = time.perf_counter() - start
            placement_times = await time_placement_query(cloud, decisions)
        finally:
            await cloud.stop()
    return {"hosts": hosts, "setup_s": setup, "cold_ms": cold * 1000, "median_ms": statistics.median(times) * 1000,
            "p95_ms": pct(times, 0.95) * 1000, "burst_s": burst, "boots_per_s": concurrent / burst,
            "placement_ms": statistics.median(placement_times) * 1000,
            "cpu_median_ms": statistics.median(cpu_times) * 1000, "cpu_mean_ms": statistics.mean(cpu_times) * 1000,
            "wall_mean_ms": statistics.mean(times) * 1000, **steps}


async def time_placement_query(cloud: Cloud, count: int) -> list[float]:
    """The placement query alone (same terms as the scheduler sends), to show its share."""
    runtime = cloud.runtime
    assert runtime is not None and runtime.placement is not None
    plan = plan_for(spec_for("x"), runtime.settings.scheduler, [], runtime.settings.api.default_availability_zone)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        await runtime.placement.get_allocation_candidates(RequestContext.admin(), plan.query)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--max-placement-results", type=int, default=1000)
    parser.add_argument("--instances-per-host", type=int, default=0,
                        help="instance rows per host in the cell database (instance statistics read them)")
    parser.add_argument("--keep-data", type=Path, default=None,
                        help="keep the registered hosts under this directory and reuse them on the next run")
    args = parser.parse_args()
    load_before = os.getloadavg()
    rows = [asyncio.run(measure(n, args.decisions, args.concurrent, args.max_placement_results, args.keep_data,
                         args.instances_per_host))
            for n in args.hosts]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, SQLite, in-memory bus, "
          f"max_placement_results {args.max_placement_results}, {args.instances_per_host} instances per host")
    print(f"| hosts | one decision median | p95 | of which placement query (median) | first (cold cache) "
          f"| {args.concurrent} concurrent boots | boots/s | setup (not timed) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['hosts']:,} | {r['median_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['placement_ms']:.1f} ms "
              f"| {r['cold_ms']:.0f} ms | {r['burst_s']:.2f} s | {r['boots_per_s']:.0f} | {r['setup_s']:.0f} s |")
    print(f"\none decision by step, mean ms per decision, CPU (wall); load average {load_before[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after")
    names = (*STEPS, "other")
    print(f"| hosts | CPU median | CPU mean (wall mean) | {' | '.join(names)} | of which GC "
          f"| scheduler's own CPU (mean minus placement query and claim) |")
    print("| ---: " * (len(names) + 5) + "|")
    for r in rows:
        parts = " | ".join(f"{r[n + '_cpu_ms']:.1f} ({r[n + '_wall_ms']:.1f})" for n in names)
        print(f"| {r['hosts']:,} | {r['cpu_median_ms']:.1f} | {r['cpu_mean_ms']:.1f} ({r['wall_mean_ms']:.1f}) "
              f"| {parts} | {r['GC_cpu_ms']:.1f} "
              f"| {r['cpu_mean_ms'] - r['placement query_cpu_ms'] - r['claim_cpu_ms']:.1f} |")


if __name__ == "__main__":
    main()
