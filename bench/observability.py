"""What operating features cost: servers/s with metrics off, on, and on with 100 event-stream subscribers.

Each configuration boots the same servers on a fresh all-in-one, waits until none is
building, and deletes them again. It watches with a cheap `status=BUILD&limit=1` query
rather than bench/boot.py's detailed listing of every server 20 times a second: that
listing makes the cloud's CPU grow with wall-clock time, so anything that slows a round
(here: 100 subscriber clients on the same two cores) would read as cost per server. Rounds visit the configurations in alternating order (off, on, subscribers, then
backwards) so that a machine growing busier or quieter hits all of them alike; the
medians are compared: servers/s, and the CPU the cloud's process spent per server
(steadier than wall-clock time on a machine that is busy with other work). Overheads
are positive when a configuration is slower or costs more.

    python bench/observability.py --servers 200 --concurrency 20 --rounds 4 --subscribers 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from boot import HEADERS  # noqa: E402

from tests.support.process import all_in_one  # noqa: E402


@dataclass
class Followers:
    """What the subscribers saw: how many are subscribed, and records each received."""

    expected: int
    counts: list[int] = field(default_factory=list)
    subscribed: int = 0
    all_subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, url: str) -> None:
        """Reads every event over a bare socket and counts records in the raw bytes. The
        subscribers share this machine's cores with the cloud and only the cloud's cost is
        measured here (a real follower runs elsewhere), so they do as little as a client can."""
        index = len(self.counts)
        self.counts.append(0)
        address = httpx.URL(url)
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            writer.write(f"GET /events HTTP/1.1\r\nHost: {address.host}\r\n"
                         f"X-Auth-Token: {HEADERS['X-Auth-Token']}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"GET /events answered {head.splitlines()[0]!r}")
            tail = None
            while chunk := await reader.read(65536):
                if tail is None:  # the first chunk holds `ready`: the subscription exists
                    tail = b""
                    self.subscribed += 1
                    if self.subscribed == self.expected:
                        self.all_subscribed.set()
                window = tail + chunk
                self.counts[index] += window.count(b"\nid: ")
                tail = window[-4:]  # shorter than the pattern: a record split across reads counts once
        finally:
            writer.close()


async def boot_and_delete(url: str, servers: int, concurrency: int) -> float:
    """Boots `servers` servers, `concurrency` requests at a time, then deletes them: servers/s to all booted."""
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=f"{url}/compute/v2.1", headers=HEADERS, timeout=120,
                                 limits=httpx.Limits(max_connections=concurrency + 2)) as client:

        async def count(status: str | None = None) -> int:
            params = {"limit": "1", **({"status": status} if status else {})}
            response = await client.get("/servers", params=params)
            response.raise_for_status()
            return len(response.json()["servers"])

        async def boot(i: int) -> str:
            async with sem:
                response = await client.post("/servers", json={"server": {
                    "name": f"bench-{i}", "imageRef": "bench", "flavorRef": "1", "networks": "none"}})
                response.raise_for_status()
                return str(response.json()["server"]["id"])

        async def delete(server_id: str) -> None:
            async with sem:
                (await client.delete(f"/servers/{server_id}")).raise_for_status()

        start = time.perf_counter()
        ids = await asyncio.gather(*(boot(i) for i in range(servers)))
        while await count("BUILD"):
            await asyncio.sleep(0.05)
        rate = servers / (time.perf_counter() - start)
        if await count("ERROR"):
            raise RuntimeError("a server went to ERROR")
        await asyncio.gather(*(delete(server_id) for server_id in ids))
        while await count():
            await asyncio.sleep(0.05)
    return rate


def cpu_seconds(pid: int | None) -> float:
    """user + system CPU of the cloud's process: what it spent, whatever else loads the machine."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(url: str, pid: int | None, args: argparse.Namespace, subscribers: int) -> tuple[float, float, int]:
    followers = Followers(subscribers)
    tasks = [asyncio.create_task(followers.follow(url)) for _ in range(subscribers)]
    try:
        if subscribers:
            await asyncio.wait_for(followers.all_subscribed.wait(), 60)
        cpu_before = cpu_seconds(pid)
        rate = await boot_and_delete(url, args.servers, args.concurrency)
        cpu_ms = 1000 * (cpu_seconds(pid) - cpu_before) / args.servers
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return rate, cpu_ms, min(followers.counts, default=0)


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
    from novalite.events.hub import EventHub
    from novalite.events.model import Event, EventFilter
    from novalite.observability import metrics

    n = 200_000
    start = time.perf_counter()
    for _ in range(n):
        metrics.count_message("compute.compute-1", "cast", "sent")
    print(f"count_message: {1e6 * (time.perf_counter() - start) / n:.2f} us")

    async def fan_out(subscribers: int, events: int = 20_000) -> float:
        """Per event: built, published, numbered, encoded, filed with every subscriber and
        (in chunks of 10, as a burst would be) taken out again."""
        hub = EventHub(subscriber_buffer=events, history=10_000)
        subscriptions = [hub.subscribe(EventFilter(admin=True)) for _ in range(subscribers)]
        hub.start()
        start = time.perf_counter()
        for i in range(events):
            hub.submit(Event(kind="server.state", server_id="s", project_id="p", data={"i": i}))
            if i % 10 == 9:
                while hub.last_id <= i:
                    await asyncio.sleep(0)
                for subscription in subscriptions:
                    subscription.take()
        elapsed = time.perf_counter() - start
        await hub.stop()
        return 1e6 * elapsed / events

    for subscribers in (0, 1, 100):
        print(f"event built, published and fanned out to {subscribers:>3} subscribers: "
              f"{asyncio.run(fan_out(subscribers)):.1f} us")


def _overhead(value: float, base: float, lower_is_better: bool) -> str:
    change = (value - base) / base if lower_is_better else (base - value) / base
    return f"{100 * change:+.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--micro", action="store_true", help="only the per-operation costs")
    args = parser.parse_args()
    if args.micro:
        micro()
        return
    off, on, followed = "metrics off", "metrics on", f"metrics on + {args.subscribers} subscribers"
    configs = [(off, False, 0), (on, True, 0), (followed, True, args.subscribers)]
    rates: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    delivered: dict[str, int] = {}
    loads = [os.getloadavg()[0]]
    for number in range(args.rounds):
        for name, metrics_on, subscribers in configs if number % 2 == 0 else reversed(configs):
            try:
                rate, cpu_ms, events = _round(name.split()[0], metrics_on, subscribers, args)
            except httpx.HTTPError as exc:  # a dropped keep-alive under load: that round does not count
                print(f"  {name:<40} round failed: {exc!r}", flush=True)
                continue
            rates[name].append(rate)
            cpu[name].append(cpu_ms)
            delivered[name] = events
            loads.append(os.getloadavg()[0])
            print(f"  {name:<40} {rate:7.1f} servers/s {cpu_ms:7.1f} CPU ms/server "
                  f"(load average {loads[-1]:.1f})", flush=True)
    rate = {name: statistics.median(values) for name, values in rates.items()}
    ms = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"\n{args.servers} servers, concurrency {args.concurrency}, medians of {args.rounds} rounds; "
          f"1-minute load average {min(loads):.1f}-{max(loads):.1f}\n")
    print("| configuration | servers/s | vs metrics off | vs metrics on | cloud CPU ms per server "
          "| vs metrics off | vs metrics on |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, _, subscribers in configs:
        extra = f" ({delivered[name]} events to the slowest)" if subscribers else ""
        against_on = name != off and name != on
        print(f"| {name}{extra} | {rate[name]:.1f} | {_overhead(rate[name], rate[off], False)} "
              f"| {_overhead(rate[name], rate[on], False) if against_on else '—'} "
              f"| {ms[name]:.1f} | {_overhead(ms[name], ms[off], True)} "
              f"| {_overhead(ms[name], ms[on], True) if against_on else '—'} |")


if __name__ == "__main__":
    main()
