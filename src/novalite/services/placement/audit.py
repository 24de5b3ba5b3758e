"""Finding and removing allocations whose consumer no longer exists (the operator's chore).

The caller says which consumers are alive (instances in every cell, migrations in
flight); anything else holding allocations is an orphan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.services.placement.objects.allocations import ALLOC, CONSUMER, RC, release
from novalite.services.placement.objects.providers import RP


@dataclass
class OrphanAllocation:
    consumer_uuid: str
    # provider uuid -> resource class -> amount
    allocations: dict[str, dict[str, int]] = field(default_factory=dict)


async def holding_consumers(sessionmaker: async_sessionmaker[AsyncSession]) -> set[str]:
    """Every consumer holding allocations now.

    Read it before the live set: a boot that claims after this read is not among these, and
    one that claimed before it was already live (its build request commits before its claim),
    so a healing run never mistakes a build in flight for an orphan.
    """
    async with sessionmaker() as session:
        return set((await session.scalars(select(ALLOC.c.consumer_id).distinct())).all())


async def find_orphan_allocations(
    sessionmaker: async_sessionmaker[AsyncSession], live_consumers: set[str]
) -> list[OrphanAllocation]:
    """Every consumer holding allocations that is not in `live_consumers`, sorted by uuid."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(ALLOC.c.consumer_id, RP.c.uuid, RC.c.name, ALLOC.c.used)
            .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
        )
        orphans: dict[str, OrphanAllocation] = {}
        for consumer, rp_uuid, rc, used in rows:
            if consumer in live_consumers:
                continue
            entry = orphans.setdefault(consumer, OrphanAllocation(consumer))
            entry.allocations.setdefault(rp_uuid, {})[rc] = used
    return [orphans[c] for c in sorted(orphans)]


async def heal(
    sessionmaker: async_sessionmaker[AsyncSession], live_consumers: set[str], dry_run: bool = False,
    among: set[str] | None = None,
) -> list[OrphanAllocation]:
    """Remove the orphans' allocations and consumer records; returns what was (or would be) removed.

    Each orphan is deleted in its own transaction, so one failure leaves the others done;
    consumers in `live_consumers` are never touched, and with `among` only those consumers
    are candidates (see `holding_consumers`).
    """
    orphans = await find_orphan_allocations(sessionmaker, live_consumers)
    if among is not None:
        orphans = [o for o in orphans if o.consumer_uuid in among]
    if dry_run:
        return orphans
    for orphan in orphans:
        async with sessionmaker.begin() as session:
            await release(session, [orphan.consumer_uuid])
            await session.execute(delete(CONSUMER).where(CONSUMER.c.uuid == orphan.consumer_uuid))
    return orphans
