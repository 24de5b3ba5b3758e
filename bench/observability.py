"""What operating features cost: servers/s with metrics off, on, and on with 100 event-stream subscribers.

Each configuration boots the same servers on a fresh all-in-one (bench/boot.py's run),
rounds alternate between configurations so drift hits all of them alike, and the
median of the rounds is compared with metrics off: servers/s, and the CPU the cloud's
process spent per server (steadier than wall-clock time on a machine that is busy
with other work).

    python bench/observability.py --servers 200 --concurrency 20 --rounds 3 --subscribers 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from boot import HEADERS, run  # noqa: E402

from tests.support.process import all_in_one  # noqa: E402


async def _subscriber(url: str, counts: list[int], index: int) -> None:
    """Reads every event as it comes, as `novalite events --follow` would."""
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30.0, read=None)) as client:
        async with client.stream("GET", "/events", headers={"X-Auth-Token": HEADERS["X-Auth-Token"]}) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("id:"):
                    counts[index] += 1


def cpu_seconds(pid: int | None) -> float:
    """user + system CPU of the cloud's process: what it spent, whatever else loads the machine."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(url: str, pid: int | None, args: argparse.Namespace, subscribers: int) -> tuple[float, float, int]:
    counts = [0] * subscribers
    tasks = [asyncio.create_task(_subscriber(url, counts, i)) for i in range(subscribers)]
    await asyncio.sleep(1.0 if subscribers else 0)  # let them connect before the first boot
    cpu_before = cpu_seconds(pid)
    try:
        result = await run(url, args.servers, args.concurrency, "1", pid)
        cpu_ms = 1000 * (cpu_seconds(pid) - cpu_before) / args.servers
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return result["servers_per_s"], cpu_ms, min(counts) if counts else 0


def _round(name: str, metrics_on: bool, subscribers: int, args: argparse.Namespace) -> tuple[float, float, int]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"novalite-bench-{name}-"))
    proc = all_in_one(data_dir, {"NOVALITE_COMPUTE__FAKE_HOST_COUNT": str(args.hosts),
                                 "NOVALITE_FAKE_DRIVER__VCPUS": "64", "NOVALITE_LOGGING__LEVEL": "WARNING",
                                 "NOVALITE_METRICS__ENABLED": "true" if metrics_on else "false",
                                 "NOVALITE_EVENTS__SUBSCRIBER_BUFFER": "100000"}).start()
    try:
        return asyncio.run(_measure(proc.url, proc.proc.pid if proc.proc else None, args, subscribers))
    finally:
        proc.stop()


def micro() -> None:
    """Per-operation costs, steady under a loaded machine where servers/s is not."""
    import time

    from novalite.events.hub import EventHub
    from novalite.events.model import Event, EventFilter
    from novalite.observability import metrics

    n = 200_000
    start = time.perf_counter()
    for _ in range(n):
        metrics.count_message("compute.compute-1", "cast", "sent")
    print(f"count_message: {1e6 * (time.perf_counter() - start) / n:.2f} us")

    async def fan_out(subscribers: int, events: int = 20_000) -> float:
        hub = EventHub(subscriber_buffer=events, history=10_000)
        for _ in range(subscribers):
            hub.subscribe(EventFilter(admin=True))
        hub.start()
        start = time.perf_counter()
        for i in range(events):
            hub.submit(Event(kind="server.state", server_id="s", project_id="p", data={"i": i}))
        while hub.last_id < events:
            await asyncio.sleep(0)
        elapsed = time.perf_counter() - start
        await hub.stop()
        return 1e6 * elapsed / events

    for subscribers in (0, 1, 100):
        print(f"event built, published and fanned out to {subscribers:>3} subscribers: "
              f"{asyncio.run(fan_out(subscribers)):.1f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--micro", action="store_true", help="only the per-operation costs")
    args = parser.parse_args()
    if args.micro:
        micro()
        return
    configs = [("metrics off", False, 0), ("metrics on", True, 0),
               (f"metrics on + {args.subscribers} subscribers", True, args.subscribers)]
    rates: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    delivered: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, metrics_on, subscribers in configs:
            try:
                rate, cpu_ms, events = _round(name.split()[0], metrics_on, subscribers, args)
            except httpx.HTTPError as exc:  # a dropped keep-alive under load: that round does not count
                print(f"  {name:<32} round failed: {exc!r}", flush=True)
                continue
            rates[name].append(rate)
            cpu[name].append(cpu_ms)
            delivered[name] = events
            print(f"  {name:<40} {rate:7.1f} servers/s {cpu_ms:7.1f} CPU ms/server", flush=True)
    base_rate = statistics.median(rates[configs[0][0]])
    base_cpu = statistics.median(cpu[configs[0][0]])
    print(f"\n| configuration | servers/s | overhead | cloud CPU ms per server | overhead |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, _, subscribers in configs:
        rate, cpu_ms = statistics.median(rates[name]), statistics.median(cpu[name])
        extra = f" ({delivered[name]} events to the slowest)" if subscribers else ""
        print(f"| {name}{extra} | {rate:.1f} | {100 * (base_rate - rate) / base_rate:+.1f}% | {cpu_ms:.1f} "
              f"| {100 * (cpu_ms - base_cpu) / base_cpu:+.1f}% |")


if __name__ == "__main__":
    main()
