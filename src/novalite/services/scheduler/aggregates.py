"""Host aggregates as the scheduler reads them from the API database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.db.api_models import Aggregate
from novalite.services.scheduler.host_state import AggregateInfo


async def load_aggregates(api: async_sessionmaker[AsyncSession]) -> list[AggregateInfo]:
    async with api() as session:
        rows = (await session.scalars(select(Aggregate))).all()
        return [AggregateInfo(uuid=a.uuid, name=a.name, hosts=frozenset(a.host_names), metadata=a.metadata_dict)
                for a in rows]
