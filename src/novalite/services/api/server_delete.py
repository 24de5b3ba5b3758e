"""DELETE /servers/{id}: wherever the server is, and whatever it is doing."""

from __future__ import annotations

import logging

from sqlalchemy import delete, update

from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest, InstanceMapping, RequestSpec
from novalite.objects import actions, instances
from novalite.runtime import Runtime
from novalite.services.api.server_locator import Located, locate
from novalite.services.api.server_action_ops import finished_migration
from novalite.services.api.service_status import compute_is_up
from novalite.services.compute.rpcapi import ComputeActionsAPI, ComputeAPI
from novalite.states import TaskState, VmState, check_state

LOG = logging.getLogger(__name__)


async def _forget_mapping(runtime: Runtime, uuid: str) -> None:
    async with runtime.require_api_db()() as session, session.begin():
        await session.execute(update(InstanceMapping).where(InstanceMapping.instance_uuid == uuid)
                              .values(queued_for_delete=True))
        await session.execute(delete(RequestSpec).where(RequestSpec.instance_uuid == uuid))


async def delete_server(runtime: Runtime, ctx: RequestContext, uuid: str) -> None:
    located = await locate(runtime, ctx, uuid)
    if located.build_request is not None:
        async with runtime.require_api_db()() as session, session.begin():
            gone = await session.execute(delete(BuildRequest).where(BuildRequest.instance_uuid == uuid))
        if gone.rowcount:
            # Not in a cell yet: the conductor sees the build request gone and frees any claim.
            await _forget_mapping(runtime, uuid)
            await runtime.require_placement().delete_allocations(ctx, uuid)
            return
        located = await locate(runtime, ctx, uuid)  # the conductor just moved it into a cell
    await _delete_in_cell(runtime, ctx, located)


async def _compute_is_up(runtime: Runtime, cell_uuid: str, host: str) -> bool:
    async with runtime.require_cells().session(cell_uuid) as session:
        return await compute_is_up(session, host, runtime.settings.service.service_down_time)


async def _delete_in_cell(runtime: Runtime, ctx: RequestContext, located: Located) -> None:
    instance, cell_uuid = located.instance, located.cell_uuid
    assert instance is not None and cell_uuid is not None
    uuid = instance.uuid
    cells = runtime.require_cells()
    # As in Nova: with no host, or a host whose compute is down, the API deletes the server itself;
    # the compute destroys the guest when it comes back (it reaps guests of deleted servers).
    local = (instance.host is None or cells.cells[cell_uuid].is_cell0
             or not await _compute_is_up(runtime, cell_uuid, instance.host))
    if not local and instance.task_state == TaskState.DELETING:
        return  # already on its way out: Nova accepts the repeat and does nothing more
    check_state("delete", uuid, instance.vm_state, instance.task_state)
    resize_hold = None
    if local and instance.vm_state == VmState.RESIZED:  # the source host's hold, awaiting confirmation
        resize_hold = (await finished_migration(runtime, cell_uuid, uuid, "confirmed"))["uuid"]
    async with cells.session(cell_uuid) as session, session.begin():
        await actions.action_start(session, ctx, uuid, "delete")
        if local:
            row = await instances.get(session, uuid)
            await instances.soft_delete(session, row)
            record = None
        else:
            row = await instances.update(session, uuid, {"task_state": TaskState.DELETING})
            record = instances.to_record(row)
    if local:
        if instance.host is not None:
            LOG.warning("compute service on %s is down: deleted server %s in the database only", instance.host, uuid)
        placement = runtime.require_placement()
        await placement.delete_allocations(ctx, uuid)
        if resize_hold is not None:
            await placement.delete_allocations(ctx, resize_hold)
        await _forget_mapping(runtime, uuid)
        return
    assert record is not None and record.host is not None
    await _forget_mapping(runtime, uuid)
    if instance.vm_state == VmState.RESIZED:
        # Deleting a server that waits for resize confirmation confirms it first, as Nova does.
        migration = await finished_migration(runtime, cell_uuid, uuid, "confirming")
        await ComputeActionsAPI(runtime.bus).cast_action(ctx, migration["source_compute"], "drop_resize_source",
                                                         record, migration=migration)
    await ComputeAPI(runtime.bus).terminate_instance(ctx, record.host, record)
