"""Boot N servers with concurrency C against novalite and report what it took.

By default it starts its own all-in-one (fresh data dir, fake driver) on a free
127.0.0.1 port so that the process RSS can be read; `--url` measures a cloud that
is already running instead (RSS then needs `--pid`).

    python bench/boot.py --servers 200 --concurrency 20
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.process import all_in_one  # noqa: E402

HEADERS = {"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.100"}


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(url: str, servers: int, concurrency: int, flavor: str, pid: int | None) -> dict[str, float]:
    rss_before = rss_mb(pid)
    posted: dict[str, float] = {}
    api_latency: list[float] = []
    active_at: dict[str, float] = {}
    sem = asyncio.Semaphore(concurrency)
    # aiohttp, not httpx: at 20 concurrent requests httpx spent ~4 ms of CPU per request in
    # this process, enough to queue requests on the client side and count that as API latency.
    connector = aiohttp.TCPConnector(limit=concurrency + 4)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, headers=HEADERS, connector=connector, timeout=timeout) as client:

        async def boot(i: int) -> None:
            async with sem:
                body = {"server": {"name": f"bench-{i}", "imageRef": "bench", "flavorRef": flavor,
                                   "networks": "none"}}
                start = time.perf_counter()
                async with client.post("/compute/v2.1/servers", json=body) as response:
                    reply = await response.json()
                    api_latency.append(time.perf_counter() - start)
                    response.raise_for_status()
                posted[reply["server"]["id"]] = start

        async def watch() -> None:
            # As a client watching many servers polls: only what changed since the last look
            # (a second of overlap, as timestamps are the server's).
            since: str | None = None
            while len(active_at) < servers:
                polled_at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
                params = {"limit": "1000", **({"changes-since": since} if since else {})}
                async with client.get("/compute/v2.1/servers/detail", params=params) as response:
                    page = await response.json()
                now = time.perf_counter()
                for server in page["servers"]:
                    if server["status"] in ("ACTIVE", "ERROR") and server["id"] not in active_at:
                        if server["status"] == "ERROR":
                            raise RuntimeError(f"server {server['id']} went to ERROR: {server.get('fault')}")
                        active_at[server["id"]] = now
                since = polled_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                await asyncio.sleep(0.05)

        t0 = time.perf_counter()
        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(boot(i) for i in range(servers)))
        await asyncio.wait_for(watcher, timeout=600)
        t_all_active = time.perf_counter() - t0
        rss_loaded = rss_mb(pid)
        to_active = [active_at[s] - posted[s] for s in posted]

        t1 = time.perf_counter()

        async def delete(server_id: str) -> None:
            async with sem:
                async with client.delete(f"/compute/v2.1/servers/{server_id}") as response:
                    response.raise_for_status()

        await asyncio.gather(*(delete(s) for s in posted))
        while True:
            async with client.get("/compute/v2.1/servers", params={"limit": "1"}) as response:
                if not (await response.json())["servers"]:
                    break
            await asyncio.sleep(0.05)
        t_delete = time.perf_counter() - t1
    return {
        "servers": servers, "concurrency": concurrency,
        "post_median_ms": statistics.median(api_latency) * 1000, "post_p95_ms": pct(api_latency, 0.95) * 1000,
        "to_active_median_s": statistics.median(to_active), "to_active_p95_s": pct(to_active, 0.95),
        "all_active_s": t_all_active, "servers_per_s": servers / t_all_active, "delete_all_s": t_delete,
        "rss_before_mb": rss_before or float("nan"), "rss_loaded_mb": rss_loaded or float("nan"),
        "rss_after_mb": rss_mb(pid) or float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--flavor", default="1")
    parser.add_argument("--url", help="a running novalite; default: start a fresh all-in-one")
    parser.add_argument("--pid", type=int, help="PID of the running novalite, for RSS")
    parser.add_argument("--hosts", type=int, default=3, help="fake compute hosts of the started all-in-one")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.OPTION=VALUE",
                        help="configuration of the started all-in-one, e.g. --set bus.executor_size=8")
    args = parser.parse_args()
    proc = None
    url, pid = args.url, args.pid
    if url is None:
        data_dir = Path(tempfile.mkdtemp(prefix="novalite-bench-"))
        env = {"NOVALITE_COMPUTE__FAKE_HOST_COUNT": str(args.hosts), "NOVALITE_FAKE_DRIVER__VCPUS": "64",
               "NOVALITE_LOGGING__LEVEL": "WARNING"}
        for item in args.set:
            option, _, value = item.partition("=")
            section, _, name = option.partition(".")
            env[f"NOVALITE_{section.upper()}__{name.upper()}"] = value
        proc = all_in_one(data_dir, env).start()
        url, pid = proc.url, proc.proc.pid if proc.proc else None
    try:
        result = asyncio.run(run(url, args.servers, args.concurrency, args.flavor, pid))
    finally:
        if proc is not None:
            proc.stop()
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value:.2f}" if isinstance(value, float) else f"{key:<{width}}  {value}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
