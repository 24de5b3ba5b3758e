"""A stuck build never stays stuck: the conductor ends builds nobody is finishing.

A build is stuck when nothing changed on it for `conductor.build_timeout` seconds:
its compute died, or a message to or from it was lost with a broker. Nova's compute
notices its own timed-out builds (`instance_build_timeout`); here the conductor of the
cell does it, so a build whose compute never comes back is caught too. The build goes
to ERROR with a fault that names the host and whether its service is down, and its
placement allocation is freed. A super-conductor also ends builds that never reached
a cell (their build request outlived the timeout): they are buried in cell0.

Every update is conditional on the build still being where it was seen, so conductors
of the same cell checking at once, or a compute answering at the last moment, never
act twice on one build.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from novalite import events
from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest, InstanceMapping
from novalite.db.cell_models import Instance
from novalite.db.types import utcnow
from novalite.objects import actions, instances
from novalite.observability.metrics import observe_build
from novalite.services.api.service_status import compute_is_up
from novalite.states import VmState

if TYPE_CHECKING:
    from novalite.services.conductor.manager import ConductorManager

LOG = logging.getLogger(__name__)

# Checking more often than this gains nothing against timeouts of minutes.
MAX_CHECK_INTERVAL = 30.0


class StuckBuildMonitor:
    def __init__(self, manager: "ConductorManager", cell_uuids: list[str], top_level: bool):
        self.manager, self.runtime = manager, manager.runtime
        self.cell_uuids, self.top_level = cell_uuids, top_level
        self.timeout = self.runtime.settings.conductor.build_timeout

    async def run(self) -> None:
        interval = min(self.timeout / 4, MAX_CHECK_INTERVAL)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_once()
            except Exception:  # a periodic task must outlive one bad run (e.g. a cell DB down)
                LOG.exception("checking for stuck builds failed")

    async def check_once(self) -> list[str]:
        """End every build silent for longer than the timeout; return their uuids."""
        cutoff = utcnow() - dt.timedelta(seconds=self.timeout)
        ended: list[str] = []
        for cell_uuid in self.cell_uuids:
            ended += await self._end_stuck_in_cell(cell_uuid, cutoff)
        if self.top_level:
            ended += await self._bury_unscheduled(cutoff)
        return ended

    async def _end_stuck_in_cell(self, cell_uuid: str, cutoff: dt.datetime) -> list[str]:
        cells = self.runtime.require_cells()
        last_change = func.coalesce(Instance.updated_at, Instance.created_at)
        async with cells.session(cell_uuid) as session:
            stuck = (await session.execute(
                select(Instance.uuid, Instance.host, Instance.task_state)
                .where(Instance.vm_state == VmState.BUILDING, Instance.deleted == 0, last_change < cutoff)
            )).all()
        ended = []
        for uuid, host, task_state in stuck:
            if await self._set_error(cell_uuid, uuid, host, task_state, cutoff):
                ended.append(uuid)
        return ended

    async def _set_error(self, cell_uuid: str, uuid: str, host: str | None, task_state: str | None,
                         cutoff: dt.datetime) -> bool:
        ctx = RequestContext.admin()
        cells, settings = self.runtime.require_cells(), self.runtime.settings
        async with cells.session(cell_uuid) as session, session.begin():
            changed = await session.execute(
                update(Instance)
                .where(Instance.uuid == uuid, Instance.deleted == 0, Instance.vm_state == VmState.BUILDING,
                       Instance.task_state.is_(None) if task_state is None else Instance.task_state == task_state,
                       func.coalesce(Instance.updated_at, Instance.created_at) < cutoff)
                .values(vm_state=VmState.ERROR, task_state=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount == 0:
                return False  # finished, deleted or ended by another conductor meanwhile
            if host is None or not await compute_is_up(session, host, settings.service.service_down_time):
                why = f"its compute service on {host} is down"
            else:
                why = f"compute host {host} reported no progress"
            message = (f"Build of instance {uuid} timed out after {self.timeout:g} s "
                       f"(conductor.build_timeout): {why}")
            await actions.add_fault(session, uuid, 500, message, message, host)
            await actions.fail_open_events(session, uuid, message)
            row = await instances.get(session, uuid)
            events.server_state(session, row, ctx)
        observe_build("ERROR", row.created_at)
        await self.runtime.require_placement().delete_allocations(ctx, uuid)
        LOG.warning("%s; allocation freed", message)
        return True

    async def _bury_unscheduled(self, cutoff: dt.datetime) -> list[str]:
        async with self.runtime.require_api_db()() as session:
            uuids = list((await session.scalars(
                select(BuildRequest.instance_uuid).where(BuildRequest.created_at < cutoff))).all())
        ctx = RequestContext.admin()
        cell0 = self.runtime.require_cells().cell0.uuid
        buried = []
        for uuid in uuids:
            reason = (f"Build of instance {uuid} timed out after {self.timeout:g} s (conductor.build_timeout): "
                      "it was never scheduled to a cell")
            # Burying moves the build request away atomically; a build that got there first wins.
            try:
                await self.manager.bury_in_cell0(ctx, uuid, reason)
            except IntegrityError:
                LOG.info("build of %s was ended by another conductor", uuid)
                continue
            if await self._mapped_cell(uuid) == cell0:
                # A claim the scheduler made for it is nobody's now (cell0 instances hold none).
                await self.runtime.require_placement().delete_allocations(ctx, uuid)
                buried.append(uuid)
        return buried

    async def _mapped_cell(self, uuid: str) -> str | None:
        async with self.runtime.require_api_db()() as session:
            mapping = await session.scalar(select(InstanceMapping).where(InstanceMapping.instance_uuid == uuid))
        return mapping.cell.uuid if mapping is not None and mapping.cell is not None else None
