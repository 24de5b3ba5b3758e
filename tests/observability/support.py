"""Serving a Cloud's app on a real 127.0.0.1 port (streams need a real server), and reading /metrics."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from novalite.cli.remote import sse_records


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """uvicorn on a free port of this event loop; stopped (and awaited) on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                            lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


@asynccontextmanager
async def open_stream(base: str, token: str, params: dict[str, str] | None = None,
                      headers: dict[str, str] | None = None) -> AsyncIterator["EventReader"]:
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30.0, read=None)) as client:
        async with client.stream("GET", "/events", params=params,
                                 headers={"X-Auth-Token": token, **(headers or {})}) as response:
            reader = EventReader(response)
            if response.status_code == 200:
                ready = await reader.next()
                assert ready["event"] == "ready", ready
                reader.ready = ready["data"]
            yield reader


class EventReader:
    def __init__(self, response: httpx.Response):
        self.response = response
        self.ready: dict[str, Any] = {}
        self._lines = response.aiter_lines()
        self._pending: list[dict[str, Any]] = []

    async def next(self, timeout: float = 30.0) -> dict[str, Any]:
        """The next record (comments skipped); a bound, not a timing assertion."""
        async def _read() -> dict[str, Any]:
            lines: list[str] = []
            async for line in self._lines:
                if line == "" and lines:
                    records = list(sse_records(iter(lines + [""])))
                    if records:
                        return records[0]
                    lines = []
                elif line != "":
                    lines.append(line)
            raise AssertionError("the event stream ended")
        return await asyncio.wait_for(_read(), timeout)

    async def line(self, timeout: float = 30.0) -> str:
        """The next raw line, comments included."""
        return await asyncio.wait_for(anext(self._lines), timeout)

    async def until(self, predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Records up to and including the first that satisfies `predicate`."""
        seen: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            record = await self.next(max(remaining, 0.01))
            seen.append(record)
            if predicate(record):
                return seen
