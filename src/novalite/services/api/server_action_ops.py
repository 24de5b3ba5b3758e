"""Server actions at the API: who may act, in which state, and handing the work to compute.

The API moves the instance into the action's task_state (only if no other task is
running), records the instance action, then casts; compute finishes the job.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from novalite.context import RequestContext
from novalite.db.cell_models import Instance, Migration
from novalite.objects import actions, instances
from novalite.objects.instances import UnexpectedTaskState
from novalite.records import InstanceRecord
from novalite.runtime import Runtime
from novalite.services.api.errors import ComputeFault, conflict, forbidden
from novalite.services.api.server_locator import locate
from novalite.states import check_state


@dataclass
class Started:
    record: InstanceRecord
    cell_uuid: str
    host: str
    migration_uuid: str | None = None


def _building(action: str, uuid: str) -> ComputeFault:
    return conflict(f"Cannot '{action}' instance {uuid} while it is in vm_state building")


async def load_for_action(runtime: Runtime, ctx: RequestContext, uuid: str, check: str,
                          locked_ok: bool = False) -> tuple[Instance, str]:
    located = await locate(runtime, ctx, uuid)
    if located.instance is None or located.cell_uuid is None:
        raise _building(check, uuid)
    instance = located.instance
    if instance.locked and not locked_ok and not ctx.is_admin:
        raise conflict(f"Instance {uuid} is locked; unlock it first (locked reason: "
                       f"{(instance.system_metadata or {}).get('locked_reason') or 'none given'})")
    check_state(check, uuid, instance.vm_state, instance.task_state)
    if instance.host is None:
        raise conflict(f"Cannot '{check}' instance {uuid}: it has no host (it never finished building)")
    return instance, located.cell_uuid


async def start_action(runtime: Runtime, ctx: RequestContext, uuid: str, *, check: str, action: str,
                       task_state: str | None, values: dict[str, Any] | None = None) -> Started:
    instance, cell_uuid = await load_for_action(runtime, ctx, uuid, check)
    async with runtime.require_cells().session(cell_uuid) as session, session.begin():
        changes = dict(values or {})
        if task_state is not None:
            changes["task_state"] = task_state
        try:
            row = await instances.update(session, uuid, changes, expected_task_state=[instance.task_state])
        except UnexpectedTaskState:
            raise conflict(f"Cannot '{check}' instance {uuid}: another action started on it just now") from None
        await actions.action_start(session, ctx, uuid, action)
        record = instances.to_record(row)
    return Started(record=record, cell_uuid=cell_uuid, host=record.host or "")


async def set_lock(runtime: Runtime, ctx: RequestContext, uuid: str, locked: bool, reason: str | None) -> None:
    instance, cell_uuid = await load_for_action(runtime, ctx, uuid, "lock", locked_ok=True)
    if not locked and instance.locked_by == "admin" and not ctx.is_admin:
        raise forbidden(f"Instance {uuid} was locked by an administrator; only an administrator can unlock it.")
    metadata = dict(instance.system_metadata or {})
    metadata["locked_reason"] = reason if locked else None
    async with runtime.require_cells().session(cell_uuid) as session, session.begin():
        await instances.update(session, uuid, {
            "locked": locked, "locked_by": ("admin" if ctx.is_admin else "owner") if locked else None,
            "system_metadata": metadata})
        await actions.action_start(session, ctx, uuid, "lock" if locked else "unlock")


async def create_migration(runtime: Runtime, ctx: RequestContext, uuid: str, *, check: str, action: str,
                           new_flavor: dict[str, Any] | None) -> Started:
    """Record the migration and enter resize_prep in one transaction."""
    instance, cell_uuid = await load_for_action(runtime, ctx, uuid, check)
    async with runtime.require_cells().session(cell_uuid) as session, session.begin():
        busy = await session.scalar(select(Migration).where(
            Migration.instance_uuid == uuid,
            Migration.status.in_(["pre-migrating", "migrating", "migrated", "finished", "accepted"])))
        if busy is not None:
            raise conflict(f"Instance {uuid} already has a {busy.migration_type} in status {busy.status}")
        try:
            row = await instances.update(session, uuid, {"task_state": "resize_prep"},
                                         expected_task_state=[instance.task_state])
        except UnexpectedTaskState:
            raise conflict(f"Cannot '{check}' instance {uuid}: another action started on it just now") from None
        migration_uuid = str(uuidlib.uuid4())
        session.add(Migration(
            uuid=migration_uuid, instance_uuid=uuid, migration_type="resize" if new_flavor else "migration",
            status="accepted", source_compute=instance.host, source_node=instance.node,
            old_flavor=instance.flavor, new_flavor=new_flavor or instance.flavor,
            project_id=instance.project_id, user_id=instance.user_id,
        ))
        await actions.action_start(session, ctx, uuid, action)
        await actions.event_start(session, ctx, uuid, "conductor_migrate_server", None)
        record = instances.to_record(row)
    return Started(record=record, cell_uuid=cell_uuid, host=record.host or "", migration_uuid=migration_uuid)


async def finished_migration(runtime: Runtime, cell_uuid: str, uuid: str, new_status: str) -> dict[str, Any]:
    """Claim the finished migration of a resized server for confirm or revert (exactly once)."""
    from novalite.services.conductor.migrate import migration_view

    async with runtime.require_cells().session(cell_uuid) as session, session.begin():
        row = await session.scalar(select(Migration).where(Migration.instance_uuid == uuid,
                                                           Migration.status == "finished"))
        if row is None:
            raise conflict(f"Instance {uuid} has no finished resize or migration to confirm or revert")
        claimed = await session.execute(update(Migration).where(Migration.id == row.id,
                                                                Migration.status == "finished")
                                        .values(status=new_status))
        if claimed.rowcount == 0:
            raise conflict(f"The resize of instance {uuid} is already being confirmed or reverted")
        row.status = new_status
        return migration_view(row)
