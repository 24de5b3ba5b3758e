"""Instances in a cell database."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from novalite import events
from novalite.db.cell_models import Instance
from novalite.db.types import utcnow
from novalite.exceptions import Conflict, InstanceNotFound
from novalite.records import FlavorRecord, InstanceRecord


class UnexpectedTaskState(Conflict):
    """An update expected a task_state the instance no longer has (someone else acted)."""


# Columns compute and conductor may change through instance_update.
UPDATABLE = {
    "vm_state", "task_state", "power_state", "host", "node", "launched_at", "terminated_at",
    "progress", "display_name", "hostname", "metadata_", "system_metadata", "locked",
    "locked_by", "image_ref", "flavor", "availability_zone", "display_description", "tags",
    "access_ip_v4", "access_ip_v6", "key_name", "key_data",
}


async def get(session: AsyncSession, uuid: str, *, read_deleted: bool = False) -> Instance:
    query = select(Instance).where(Instance.uuid == uuid)
    if not read_deleted:
        query = query.where(Instance.deleted == 0)
    instance = await session.scalar(query)
    if instance is None:
        raise InstanceNotFound(f"Instance {uuid} could not be found.")
    return instance


async def on_host(session: AsyncSession, host: str) -> list[Instance]:
    query = select(Instance).where(Instance.host == host, Instance.deleted == 0)
    return list((await session.scalars(query)).all())


async def update(
    session: AsyncSession,
    uuid: str,
    values: dict[str, Any],
    expected_task_state: Iterable[str | None] | None = None,
) -> Instance:
    """Update atomically; with expected_task_state, only if the task is still one of those."""
    unknown = set(values) - UPDATABLE
    if unknown:
        raise ValueError(f"instance fields not updatable: {sorted(unknown)}")
    query = sql_update(Instance).where(Instance.uuid == uuid, Instance.deleted == 0)
    if expected_task_state is not None:
        expected = list(expected_task_state)
        clause = Instance.task_state.in_([s for s in expected if s is not None])
        if None in expected:
            clause = clause | Instance.task_state.is_(None)
        query = query.where(clause)
    # RETURNING hands back the updated row in the same statement (SQLite >= 3.35, PostgreSQL).
    result = await session.execute(
        query.values(**values, updated_at=utcnow()).returning(Instance)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    row = result.scalars().first()
    if row is None:
        instance = await get(session, uuid)  # raises InstanceNotFound if it went away
        raise UnexpectedTaskState(
            f"instance {uuid} has task_state {instance.task_state}, "
            f"expected one of {list(expected_task_state or [])}"
        )
    events.server_state(session, row)
    return row


async def soft_delete(session: AsyncSession, instance: Instance) -> None:
    now = utcnow()
    instance.vm_state = "deleted"
    instance.task_state = None
    instance.power_state = 0
    instance.terminated_at = now
    instance.deleted_at = now
    instance.deleted = instance.id
    events.server_state(session, instance)


def to_record(instance: Instance) -> InstanceRecord:
    return InstanceRecord(
        uuid=instance.uuid,
        display_name=instance.display_name,
        hostname=instance.hostname,
        project_id=instance.project_id,
        user_id=instance.user_id,
        host=instance.host,
        node=instance.node,
        image_ref=instance.image_ref,
        flavor=FlavorRecord.model_validate(instance.flavor),
        vm_state=instance.vm_state,
        task_state=instance.task_state,
        power_state=instance.power_state,
        availability_zone=instance.availability_zone,
        key_name=instance.key_name,
        key_data=instance.key_data,
        user_data=instance.user_data,
        metadata=instance.metadata_ or {},
        system_metadata=instance.system_metadata or {},
        locked=instance.locked,
        launched_at=instance.launched_at,
        created_at=instance.created_at,
    )
