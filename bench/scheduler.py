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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from novalite.bootstrap import Cloud  # noqa: E402
from novalite.config import Settings  # noqa: E402
from novalite.context import RequestContext  # noqa: E402
from novalite.drivers.base import HostResources  # noqa: E402
from novalite.records import FlavorRecord, ImageRecord, RequestSpecRecord  # noqa: E402
from novalite.services.compute.resource_tracker import inventory_from  # noqa: E402
from novalite.services.conductor.rpcapi import ConductorAPI  # noqa: E402
from novalite.services.scheduler.placement_query import plan_for  # noqa: E402
from novalite.services.scheduler.rpcapi import SchedulerAPI  # noqa: E402

FLAVOR = FlavorRecord(flavorid="bench", name="bench", vcpus=2, memory_mb=4096, root_gb=20)
BATCH = 50


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


def data_dir(keep: Path | None, hosts: int) -> contextlib.AbstractContextManager[str]:
    """A throw-away directory, or `keep/<hosts>` kept between runs so the setup is paid once."""
    if keep is None:
        # tmpfs when there is one: setup writes ~40,000 rows one transaction at a time
        return tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    path = keep / str(hosts)
    path.mkdir(parents=True, exist_ok=True)
    return contextlib.nullcontext(str(path))


async def measure(hosts: int, decisions: int, concurrent: int, max_results: int,
                  keep: Path | None = None) -> dict[str, float]:
    with data_dir(keep, hosts) as tmp:
        marker = Path(tmp) / "registered"
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
            setup = time.perf_counter() - began
            assert cloud.runtime is not None
            scheduler, ctx = SchedulerAPI(cloud.runtime.bus), RequestContext.admin()
            first = time.perf_counter()
            await scheduler.select_destinations(ctx, spec_for(str(uuid.uuid4())), [str(uuid.uuid4())])
            cold = time.perf_counter() - first   # loads the host cache
            times = []
            for _ in range(decisions):
                instance = str(uuid.uuid4())
                start = time.perf_counter()
                await scheduler.select_destinations(ctx, spec_for(instance), [instance])
                times.append(time.perf_counter() - start)
            instances = [str(uuid.uuid4()) for _ in range(concurrent)]
            start = time.perf_counter()
            await asyncio.gather(*(scheduler.select_destinations(ctx, spec_for(i), [i]) for i in instances))
            burst = time.perf_counter() - start
            placement_times = await time_placement_query(cloud, decisions)
        finally:
            await cloud.stop()
    return {"hosts": hosts, "setup_s": setup, "cold_ms": cold * 1000, "median_ms": statistics.median(times) * 1000,
            "p95_ms": pct(times, 0.95) * 1000, "burst_s": burst, "boots_per_s": concurrent / burst,
            "placement_ms": statistics.median(placement_times) * 1000}


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
    parser.add_argument("--keep-data", type=Path, default=None,
                        help="keep the registered hosts under this directory and reuse them on the next run")
    args = parser.parse_args()
    rows = [asyncio.run(measure(n, args.decisions, args.concurrent, args.max_placement_results, args.keep_data))
            for n in args.hosts]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, SQLite, in-memory bus, "
          f"max_placement_results {args.max_placement_results}")
    print(f"| hosts | one decision median | p95 | of which placement query (median) | first (cold cache) "
          f"| {args.concurrent} concurrent boots | boots/s | setup (not timed) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['hosts']:,} | {r['median_ms']:.1f} ms | {r['p95_ms']:.1f} ms | {r['placement_ms']:.1f} ms "
              f"| {r['cold_ms']:.0f} ms | {r['burst_s']:.2f} s | {r['boots_per_s']:.0f} | {r['setup_s']:.0f} s |")


if __name__ == "__main__":
    main()
