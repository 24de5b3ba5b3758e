"""Casts yield to a busy API in a process that serves both; calls never wait."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn

from novalite.bus.foreground import QUIET, ForegroundGate
from novalite.bus.memory import MemoryBus
from novalite.context import RequestContext
from novalite.services.api.foreground import ForegroundRequests, touching_http_protocol
from tests.support.process import free_port

CTX = RequestContext(user_id="u", project_id="p", roles=["member"])


class Worker:
    def __init__(self) -> None:
        self.done: list[int] = []

    async def work(self, ctx: RequestContext, item: int) -> None:
        self.done.append(item)

    async def ping(self, ctx: RequestContext) -> str:
        return "pong"


async def _bus_with_gate(interval: float) -> tuple[MemoryBus, ForegroundGate, Worker]:
    bus = MemoryBus()
    gate = bus.foreground = ForegroundGate(interval)
    worker = Worker()
    await bus.serve("worker", worker)
    return bus, gate, worker


async def test_casts_run_at_once_while_the_api_is_quiet() -> None:
    bus, _gate, worker = await _bus_with_gate(60)
    for item in range(5):
        await bus.cast("worker", "work", CTX, item=item)
    async with asyncio.timeout(5):
        while len(worker.done) < 5:
            await asyncio.sleep(0.01)
    await bus.close()


async def test_a_busy_api_defers_casts_but_not_calls() -> None:
    bus, gate, worker = await _bus_with_gate(60)  # no trickle within this test
    gate.enter()
    await bus.cast("worker", "work", CTX, item=0)  # the first of a burst may start at once
    for item in range(1, 10):
        await bus.cast("worker", "work", CTX, item=item)
    assert await bus.call("worker", "ping", CTX, timeout=5) == "pong"
    await asyncio.sleep(0.3)
    assert len(worker.done) <= 1, "casts ran while a request was being answered"
    gate.leave()
    async with asyncio.timeout(5):
        while len(worker.done) < 10:
            await asyncio.sleep(0.01)
    assert sorted(worker.done) == list(range(10))
    await bus.close()


async def test_casts_trickle_through_an_api_that_never_pauses() -> None:
    bus, gate, worker = await _bus_with_gate(0.05)
    gate.enter()
    try:
        for item in range(30):
            await bus.cast("worker", "work", CTX, item=item)
        async with asyncio.timeout(5):
            while len(worker.done) < 3:  # background work is slowed, never stopped
                await asyncio.sleep(0.01)
        assert len(worker.done) < 30
    finally:
        gate.leave()
    async with asyncio.timeout(5):
        while len(worker.done) < 30:
            await asyncio.sleep(0.01)
    await bus.close()


async def test_interval_zero_turns_priority_off() -> None:
    bus, gate, worker = await _bus_with_gate(0)
    gate.enter()
    for item in range(5):
        await bus.cast("worker", "work", CTX, item=item)
    async with asyncio.timeout(5):
        while len(worker.done) < 5:
            await asyncio.sleep(0.01)
    gate.leave()
    await bus.close()


async def test_a_request_counts_until_its_response_starts() -> None:
    gate = ForegroundGate(1.0)
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["while_handling"] = gate.answering
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen["after_headers"] = gate.answering  # an event stream goes on from here
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: dict[str, Any]) -> None:
        return None

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    await ForegroundRequests(app, gate)({"type": "http"}, receive, send)
    assert seen == {"while_handling": 1, "after_headers": 0}
    assert gate.answering == 0
    await asyncio.sleep(QUIET * 2)


async def test_a_failing_request_still_leaves() -> None:
    gate = ForegroundGate(1.0)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("handler blew up")

    async def noop(*_: Any) -> Any:
        return None

    try:
        await ForegroundRequests(app, gate)({"type": "http"}, noop, noop)
    except RuntimeError:
        pass
    assert gate.answering == 0


async def test_a_request_counts_from_its_first_byte() -> None:
    """uvicorn reads a request a loop turn before the app runs it: the gate hears of it then."""
    gate = ForegroundGate(1.0)
    called = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        called.set()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None,
                                           http=touching_http_protocol(gate)))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        await asyncio.sleep(QUIET * 1.5)
        loop = asyncio.get_running_loop()
        assert gate._quiet(loop.time())
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # not a whole request yet: no app call
        await writer.drain()
        async with asyncio.timeout(5):
            while gate._quiet(loop.time()):
                await asyncio.sleep(0.005)
        assert not called.is_set()
        writer.close()
    finally:
        server.should_exit = True
        await serving
