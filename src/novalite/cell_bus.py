"""Cells v2 on the bus: each cell has its own broker (its mapping's transport URL).

The top-level bus carries what spans cells (`scheduler`, the super-conductor's
`conductor` topic); a cell's bus carries its computes (`compute.<host>`) and its own
conductor. `CellRoutedBus` is the bus of a process that talks to computes of several
cells (API, conductor): it sends `compute.<host>` messages on the bus of the cell the
host is mapped to and everything else on the top-level bus, so callers address a host
without knowing its cell, as Nova's target_cell does for them.
"""

from __future__ import annotations

import asyncio

from novalite.bus.base import Bus, Consumer, Envelope, Reply
from novalite.bus.factory import create_bus
from novalite.cells import CellNotFound, CellRegistry
from novalite.exceptions import MessageDeliveryFailure

COMPUTE_PREFIX = "compute."
NO_TRANSPORT = "none:///"  # cell0 has no computes and so no broker


class BusPool:
    """One started bus per transport URL; the top-level URL is the process's own bus."""

    def __init__(self, top: Bus, top_url: str):
        self.top, self.top_url = top, top_url
        self._buses: dict[str, Bus] = {}
        self._lock = asyncio.Lock()

    def is_top(self, url: str) -> bool:
        # In memory every cell shares the process's one bus: there is no other to reach.
        return url in (self.top_url, NO_TRANSPORT) or url.startswith("memory:")

    async def get(self, url: str) -> Bus:
        if self.is_top(url):
            return self.top
        async with self._lock:
            bus = self._buses.get(url)
            if bus is None:
                bus = create_bus(url, self.top.call_timeout, self.top.executor_size)
                await bus.start()
                self._buses[url] = bus
        return bus

    async def close(self) -> None:
        for bus in self._buses.values():
            await bus.close()
        self._buses.clear()


class CellRoutedBus(Bus):
    """Sends `compute.<host>` on the host's cell bus, the rest on the top-level bus."""

    def __init__(self, pool: BusPool, cells: CellRegistry):
        super().__init__(pool.top.call_timeout, pool.top.executor_size)
        self.pool, self.cells = pool, cells

    async def _bus_for(self, topic: str) -> Bus:
        if not topic.startswith(COMPUTE_PREFIX):
            return self.pool.top
        host = topic[len(COMPUTE_PREFIX):]
        try:
            cell_uuid = await self.cells.cell_for_host(host)
        except CellNotFound as exc:  # never registered: nobody could serve this topic
            raise MessageDeliveryFailure(f"cannot reach {topic}: {exc}") from None
        if cell_uuid not in self.cells.cells:  # a cell created since this process started
            await self.cells.refresh()
        return await self.pool.get(self.cells.cells[cell_uuid].transport_url)

    async def start(self) -> None:
        await self.pool.top.start()

    async def close(self) -> None:
        await self.pool.close()
        await self.pool.top.close()

    async def _send(self, envelope: Envelope) -> None:
        await (await self._bus_for(envelope.topic))._send(envelope)

    async def _request(self, envelope: Envelope, timeout: float) -> Reply:
        return await (await self._bus_for(envelope.topic))._request(envelope, timeout)

    async def serve(self, topic: str, endpoint: object, *, fanout: bool = True) -> Consumer:
        return await self.pool.top.serve(topic, endpoint, fanout=fanout)

    async def queue_depths(self) -> dict[str, int]:
        """The top-level queues and every cell broker's: each mapped host's `compute.<host>`,
        and the cell's own queues named `<cell>/<topic>` (a cell conductor's `conductor`
        would otherwise read as the super-conductor's)."""
        depths = await self.pool.top.queue_depths()
        own_brokers = {uuid: cell for uuid, cell in self.cells.cells.items()
                       if not self.pool.is_top(cell.transport_url)}
        if not own_brokers:  # every cell shares the top-level broker: nothing more to read
            return depths
        for cell_uuid, hosts in (await self.cells.hosts_by_cell()).items():
            cell = own_brokers.get(cell_uuid)
            if cell is None:
                continue
            bus = await self.pool.get(cell.transport_url)
            for host in hosts:
                bus.watch(COMPUTE_PREFIX + host)
            for topic, depth in (await bus.queue_depths()).items():
                depths[topic if topic.startswith(COMPUTE_PREFIX) else f"{cell.name}/{topic}"] = depth
        return depths
