"""Scheduling a boot request and handing each instance to its compute host."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from novalite import events
from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest, CellMapping
from novalite.db.cell_models import Instance
from novalite.exceptions import MessagingTimeout, NoValidHost
from novalite.objects import actions, instances
from novalite.observability.metrics import observe_build
from novalite.records import RequestSpecRecord, Selection
from novalite.services.compute.rpcapi import ComputeAPI
from novalite.services.conductor import build_requests
from novalite.services.conductor.instance_cells import InstanceCells
from novalite.services.conductor.reschedule import RescheduleTasks
from novalite.services.scheduler.rpcapi import SchedulerAPI
from novalite.states import TaskState, VmState

if TYPE_CHECKING:
    from novalite.runtime import Runtime

LOG = logging.getLogger(__name__)

CREATE_EVENT = "conductor_schedule_and_build_instances"


def instance_from_build_request(br: BuildRequest) -> Instance:
    """The cell row for a server the API accepted (fields stored by the API at POST time)."""
    data = dict(br.instance)
    data["metadata_"] = data.pop("metadata", {})
    data["created_at"] = dt.datetime.fromisoformat(data["created_at"])
    return Instance(**data)


class BuildTasks(RescheduleTasks):
    """The conductor's half of Nova's schedule_and_build_instances."""

    runtime: "Runtime"
    instance_cells: InstanceCells

    def _init_build(self, runtime: "Runtime") -> None:
        self.scheduler = SchedulerAPI(runtime.bus)
        self.compute = ComputeAPI(runtime.bus)

    async def build_instances(self, ctx: RequestContext, instance_uuids: list[str]) -> None:
        api = self.runtime.require_api_db()
        spec = await build_requests.load_spec(api, instance_uuids[0])
        if spec is None:
            LOG.warning("no request spec for %s; the servers were deleted before scheduling", instance_uuids)
            return
        try:
            selections = await self.scheduler.select_destinations(ctx, spec, instance_uuids)
        except NoValidHost as exc:
            for uuid in instance_uuids:
                await self.bury_in_cell0(ctx, uuid, str(exc))
            return
        except MessagingTimeout as exc:
            for uuid in instance_uuids:
                await self.bury_in_cell0(ctx, uuid, f"No valid host was found. The scheduler did not answer: {exc}")
            return
        for uuid, alternates in zip(instance_uuids, selections):
            await self._create_in_cell_and_cast(ctx, uuid, spec, alternates[0], alternates[1:])

    async def _create_in_cell_and_cast(self, ctx: RequestContext, uuid: str, spec: RequestSpecRecord,
                                       selection: Selection, alternates: list[Selection]) -> None:
        runtime = self.runtime
        api, cells = runtime.require_api_db(), runtime.require_cells()
        br = await build_requests.load_build_request(api, uuid)
        if br is None:
            LOG.info("server %s was deleted before it reached a cell; releasing its claim", uuid)
            await runtime.require_placement().delete_allocations(ctx, uuid)
            return
        cell = cells.cells[selection.cell_uuid]
        instance = instance_from_build_request(br)
        instance.host, instance.node = selection.service_host, selection.nodename
        instance.vm_state, instance.task_state = VmState.BUILDING, TaskState.SCHEDULING
        async with cells.session(cell.uuid) as session, session.begin():
            session.add(instance)
            await session.flush()
            await actions.action_start(session, ctx, uuid, "create", project_id=instance.project_id)
            await actions.event_finish(session, ctx, uuid, CREATE_EVENT, "Success")
            record = instances.to_record(instance)
        if not await build_requests.move_to_cell(api, uuid, cell):
            await self._undo_cell_create(ctx, cell, uuid)
            return
        self.instance_cells.remember(uuid, cell.uuid)
        await self.compute.build_and_run_instance(ctx, selection.service_host, record, spec, selection, alternates)

    async def _undo_cell_create(self, ctx: RequestContext, cell: CellMapping, uuid: str) -> None:
        async with self.runtime.require_cells().session(cell.uuid) as session, session.begin():
            await instances.soft_delete(session, await instances.get(session, uuid))
        await self.runtime.require_placement().delete_allocations(ctx, uuid)

    async def bury_in_cell0(self, ctx: RequestContext, uuid: str, reason: str,
                            details: str | None = None) -> None:
        """An instance that never got a host lives on in cell0, in ERROR, with a fault saying why."""
        runtime = self.runtime
        api, cells = runtime.require_api_db(), runtime.require_cells()
        br = await build_requests.load_build_request(api, uuid)
        if br is None:
            return
        cell0 = cells.cell0
        instance = instance_from_build_request(br)
        instance.vm_state, instance.task_state = VmState.ERROR, None
        async with cells.session(cell0.uuid) as session, session.begin():
            session.add(instance)
            await session.flush()
            events.server_state(session, instance, ctx)
            await actions.action_start(session, ctx, uuid, "create", project_id=instance.project_id)
            await actions.event_finish(session, ctx, uuid, CREATE_EVENT, "Error", details=reason)
            await actions.add_fault(session, uuid, 500, reason, details or reason)
        if not await build_requests.move_to_cell(api, uuid, cell0):
            await self._undo_cell_create(ctx, cell0, uuid)
            return
        self.instance_cells.remember(uuid, cell0.uuid)
        LOG.info("server %s buried in cell0: %s [%s]", uuid, reason, ctx.request_id)
        observe_build("ERROR", instance.created_at)
