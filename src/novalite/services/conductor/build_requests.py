"""API-database steps of a build: the request spec, the build request, the mapping."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.db.api_models import BuildRequest, CellMapping, InstanceMapping, RequestSpec
from novalite.records import RequestSpecRecord


async def load_spec(api: async_sessionmaker[AsyncSession], instance_uuid: str) -> RequestSpecRecord | None:
    async with api() as session:
        row = await session.scalar(select(RequestSpec).where(RequestSpec.instance_uuid == instance_uuid))
    return RequestSpecRecord.model_validate(row.spec) if row else None


async def load_build_request(api: async_sessionmaker[AsyncSession], instance_uuid: str) -> BuildRequest | None:
    async with api() as session:
        return await session.scalar(select(BuildRequest).where(BuildRequest.instance_uuid == instance_uuid))


async def move_to_cell(api: async_sessionmaker[AsyncSession], instance_uuid: str, cell: CellMapping) -> bool:
    """Point the mapping at `cell` and drop the build request, atomically.

    False means the user deleted the server meanwhile: nothing was changed and the
    caller must undo what it created in the cell.
    """
    async with api() as session, session.begin():
        gone = await session.execute(delete(BuildRequest).where(BuildRequest.instance_uuid == instance_uuid))
        if gone.rowcount == 0:
            await session.rollback()
            return False
        await session.execute(
            update(InstanceMapping).where(InstanceMapping.instance_uuid == instance_uuid).values(cell_id=cell.id)
        )
    return True


async def save_retry(api: async_sessionmaker[AsyncSession], spec: RequestSpecRecord) -> None:
    async with api() as session, session.begin():
        await session.execute(
            update(RequestSpec).where(RequestSpec.instance_uuid == spec.instance_uuid)
            .values(spec=spec.model_dump(mode="json"))
        )
