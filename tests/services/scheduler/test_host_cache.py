"""The host cache under a burst of decisions: complete answers, one refresh shared by those waiting."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from novalite.services.scheduler.host_manager import HostCache

NOW = dt.datetime(2026, 1, 1)
NODES = [(f"node-{i}", f"host-{i}", f"host-{i}", "fake", 1, {}, False, None, False, NOW, NOW) for i in range(50)]


class FakeCells:
    """One cell whose sessions answer the cache's two queries (nodes joined with services, services)."""

    def __init__(self) -> None:
        self.queries = {"nodes": 0, "services": 0}

    def cells_with_hosts(self) -> list[Any]:
        return [type("Cell", (), {"uuid": "cell1"})()]

    @contextlib.asynccontextmanager
    async def session(self, cell_uuid: str):  # type: ignore[no-untyped-def]
        yield self

    async def execute(self, query: Any) -> Any:
        await asyncio.sleep(0.001)  # a database round trip: other decisions run meanwhile
        kind = "nodes" if len(query.selected_columns) == 11 else "services"
        self.queries[kind] += 1
        rows = NODES if kind == "nodes" else [(n[1], False, None, False, NOW, NOW) for n in NODES[:1]]
        return type("Result", (), {"all": lambda self: rows})()


async def test_concurrent_decisions_during_reloads_all_see_every_node():
    cells = FakeCells()
    cache = HostCache(cells, refresh_interval=0.002)  # type: ignore[arg-type]
    wanted = [n[0] for n in NODES]
    for _ in range(5):
        answers = await asyncio.gather(*(cache.nodes_for(wanted) for _ in range(20)))
        assert all(sorted(a) == sorted(wanted) for a in answers)
        await asyncio.sleep(0.003)


async def test_decisions_that_waited_share_the_service_refresh_begun_after_they_arrived():
    cells = FakeCells()
    cache = HostCache(cells, refresh_interval=3600)  # type: ignore[arg-type]
    await cache.nodes_for([])
    before = dict(cells.queries)
    await asyncio.gather(*(cache.nodes_for(["node-1"]) for _ in range(20)))
    assert cells.queries["nodes"] == before["nodes"]
    # the first refreshes for itself; everyone who arrived while it ran shares the next one
    assert cells.queries["services"] - before["services"] <= 2
