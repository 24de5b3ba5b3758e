"""Bus throughput: calls/s and casts/s on the in-memory bus and on RabbitMQ.

    .venv/bin/python bench/bus.py [--rabbit amqp://guest:guest@127.0.0.1:5672/] [--n 2000]

RabbitMQ runs in a vhost made for the run (rabbitmqctl add_vhost) and deleted after it,
with the server and the client on separate connections as two processes would be.
Numbers only: nothing here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
import uuid
from typing import Any, Awaitable, Callable

from novalite.bus.base import Bus
from novalite.bus.factory import create_bus
from novalite.context import RequestContext

CONCURRENCY = 50


class Endpoint:
    def __init__(self) -> None:
        self.casts = 0
        self.expected = 0
        self.all_in = asyncio.Event()

    async def ping(self, ctx: RequestContext, n: int) -> int:
        return n

    async def note(self, ctx: RequestContext, n: int) -> None:
        self.casts += 1
        if self.casts >= self.expected:
            self.all_in.set()


async def rate(n: int, run: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await run()
    return n / (time.perf_counter() - start)


async def in_batches(n: int, one: Callable[[int], Awaitable[Any]]) -> None:
    for first in range(0, n, CONCURRENCY):
        await asyncio.gather(*(one(i) for i in range(first, min(n, first + CONCURRENCY))))


async def measure(name: str, server: Bus, client: Bus, n: int) -> None:
    ctx = RequestContext.admin()
    topic = f"bench_{uuid.uuid4().hex[:8]}"
    endpoint = Endpoint()
    await server.serve(topic, endpoint)

    async def sequential_calls() -> None:
        for i in range(n):
            await client.call(topic, "ping", ctx, n=i)

    async def casts(concurrent: bool) -> None:
        endpoint.casts, endpoint.expected = 0, n
        endpoint.all_in.clear()
        if concurrent:
            await in_batches(n, lambda i: client.cast(topic, "note", ctx, n=i))
        else:
            for i in range(n):
                await client.cast(topic, "note", ctx, n=i)
        await endpoint.all_in.wait()  # casts/s counts handling, not just sending

    rows = [
        ("calls/s, one at a time", await rate(n, sequential_calls)),
        (f"calls/s, {CONCURRENCY} in flight",
         await rate(n, lambda: in_batches(n, lambda i: client.call(topic, "ping", ctx, n=i)))),
        ("casts/s, one at a time (confirmed)", await rate(n, lambda: casts(False))),
        (f"casts/s, {CONCURRENCY} in flight", await rate(n, lambda: casts(True))),
    ]
    for label, value in rows:
        print(f"{name:<10} {label:<38} {value:>10,.0f}")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rabbit", default="amqp://guest:guest@127.0.0.1:5672/",
                        help="broker URL without vhost; empty to skip RabbitMQ")
    parser.add_argument("--n", type=int, default=2000, help="messages per measurement")
    args = parser.parse_args()

    memory = create_bus("memory://", executor_size=64)
    await measure("memory", memory, memory, args.n)
    await memory.close()

    if not args.rabbit:
        return
    vhost = f"novalite_bench_{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        url = args.rabbit.rstrip("/") + "/" + vhost
        server = create_bus(url, executor_size=64)
        client = create_bus(url, executor_size=64)
        try:
            await measure("rabbitmq", server, client, args.n)
        finally:
            await client.close()
            await server.close()
    finally:
        rabbitmqctl("delete_vhost", vhost)


if __name__ == "__main__":
    asyncio.run(main())
