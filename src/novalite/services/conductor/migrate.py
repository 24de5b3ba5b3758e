"""Resize and cold migration: move the claim aside, schedule the destination, start the move."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from novalite.context import RequestContext
from novalite.db.cell_models import Migration
from novalite.exceptions import NoValidHost
from novalite.objects import actions, instances
from novalite.records import FlavorRecord, RetryInfo
from novalite.services.compute.rpcapi import ComputeActionsAPI
from novalite.services.conductor import build_requests
from novalite.services.conductor.instance_cells import InstanceCells
from novalite.services.scheduler.rpcapi import SchedulerAPI

if TYPE_CHECKING:
    from novalite.runtime import Runtime

LOG = logging.getLogger(__name__)

MIGRATION_EVENT = "conductor_migrate_server"


def migration_view(row: Migration) -> dict[str, Any]:
    return {
        "uuid": row.uuid, "instance_uuid": row.instance_uuid, "migration_type": row.migration_type,
        "status": row.status, "source_compute": row.source_compute, "source_node": row.source_node,
        "dest_compute": row.dest_compute, "dest_node": row.dest_node,
        "old_flavor": row.old_flavor, "new_flavor": row.new_flavor,
    }


class MigrationTasks:
    runtime: "Runtime"
    instance_cells: InstanceCells

    async def migration_update(self, ctx: RequestContext, instance_uuid: str, migration_uuid: str,
                               values: dict[str, Any]) -> None:
        cell_uuid = await self.instance_cells.lookup(instance_uuid)
        async with self.runtime.require_cells().session(cell_uuid) as session, session.begin():
            row = await session.scalar(select(Migration).where(Migration.uuid == migration_uuid))
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)

    async def migrate_server(self, ctx: RequestContext, instance_uuid: str, migration_uuid: str,
                             target_host: str | None) -> None:
        runtime = self.runtime
        cells, placement = runtime.require_cells(), runtime.require_placement()
        cell_uuid = await self.instance_cells.lookup(instance_uuid)
        async with cells.session(cell_uuid) as session:
            instance = instances.to_record(await instances.get(session, instance_uuid))
            migration = await session.scalar(select(Migration).where(Migration.uuid == migration_uuid))
            assert migration is not None
            moving = migration_view(migration)
        # The source allocation moves to the migration consumer; the scheduler claims anew for the instance.
        await placement.move_allocations(ctx, instance_uuid, migration_uuid, instance.project_id,
                                         instance.user_id, "MIGRATION")
        spec = await build_requests.load_spec(runtime.require_api_db(), instance_uuid)
        assert spec is not None
        same_host_ok = (moving["migration_type"] == "resize" and runtime.settings.compute.allow_resize_to_same_host)
        spec = spec.model_copy(update={
            "flavor": FlavorRecord.model_validate(moving["new_flavor"]), "num_instances": 1,
            "retry": RetryInfo(), "ignore_hosts": [] if same_host_ok else [instance.host or ""],
            "force_hosts": [target_host] if target_host else [],
        })
        try:
            selections = await SchedulerAPI(runtime.bus).select_destinations(ctx, spec, [instance_uuid])
        except NoValidHost as exc:
            await placement.move_allocations(ctx, migration_uuid, instance_uuid, instance.project_id,
                                             instance.user_id, "INSTANCE")
            async with cells.session(cell_uuid) as session, session.begin():
                await instances.update(session, instance_uuid, {"task_state": None})
                await actions.add_fault(session, instance_uuid, 400, str(exc), str(exc))
                await actions.event_finish(session, ctx, instance_uuid, MIGRATION_EVENT, "Error", details=str(exc),
                                           finish_action=True)
            await self.migration_update(ctx, instance_uuid, migration_uuid, {"status": "error"})
            return
        selection = selections[0][0]
        await self.migration_update(ctx, instance_uuid, migration_uuid, {
            "dest_compute": selection.service_host, "dest_node": selection.nodename, "status": "pre-migrating"})
        moving.update(dest_compute=selection.service_host, dest_node=selection.nodename)
        async with cells.session(cell_uuid) as session, session.begin():
            await actions.event_finish(session, ctx, instance_uuid, MIGRATION_EVENT, "Success")
        await ComputeActionsAPI(runtime.bus).cast_action(ctx, instance.host or "", "resize_instance", instance,
                                                         migration=moving)
