"""Service up/down: nothing is written when a service dies, so the API process notices
it by polling heartbeats, and tells the stream when a service's state changes."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from novalite.db.cell_models import Service
from novalite.events.hub import EventHub
from novalite.events.model import Event
from novalite.services.api.service_status import service_state

if TYPE_CHECKING:
    from novalite.runtime import Runtime

LOG = logging.getLogger(__name__)

_Key = tuple[str, str, str]  # cell, host, binary


class ServiceMonitor:
    def __init__(self, runtime: "Runtime", hub: EventHub):
        self.runtime, self.hub = runtime, hub
        self.known: dict[_Key, tuple[str, bool]] | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _loop(self) -> None:
        interval = self.runtime.settings.events.service_poll_interval
        while True:
            try:
                await self.poll()
            except Exception as exc:  # a database blip must not end the monitor
                LOG.warning("service monitor: %s", exc)
            await asyncio.sleep(interval)

    async def poll(self) -> None:
        cells, down = self.runtime.require_cells(), self.runtime.settings.service.service_down_time
        seen: dict[_Key, tuple[str, bool]] = {}
        for cell in cells.cells_with_hosts():
            async with cells.session(cell.uuid) as session:
                rows = (await session.scalars(select(Service).where(Service.deleted == 0))).all()
            for service in rows:
                key = (cell.name, service.host, service.binary)
                seen[key] = (service_state(service, down), service.disabled)
                if self.known is not None and self.known.get(key) != seen[key]:
                    self.hub.submit(Event(kind="service.state", data={
                        "cell": cell.name, "host": service.host, "binary": service.binary,
                        "state": seen[key][0], "disabled": service.disabled,
                        "disabled_reason": service.disabled_reason,
                        "last_heartbeat": service.last_seen_up.isoformat() if service.last_seen_up else None}))
        self.known = seen  # the first poll is the baseline: services were already up
