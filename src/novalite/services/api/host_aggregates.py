"""Host aggregates for the API: zones per host, and keeping placement's aggregates in step.

The API database is the record; each compute node's resource provider carries the uuids
of its host's aggregates so that the scheduler's member_of prefilters see them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.cells import CellNotFound
from novalite.context import RequestContext
from novalite.db.api_models import Aggregate, AggregateHost
from novalite.db.cell_models import ComputeNode
from novalite.runtime import Runtime

ZONE_KEY = "availability_zone"


async def zones_by_host(session: AsyncSession, exclude_aggregate: int | None = None) -> dict[str, set[str]]:
    """host -> availability zones its aggregates (but `exclude_aggregate`) name."""
    rows = (await session.execute(
        select(AggregateHost.host, Aggregate).join(Aggregate, Aggregate.id == AggregateHost.aggregate_id)
    )).all()
    zones: dict[str, set[str]] = {}
    for host, agg in rows:
        if agg.id == exclude_aggregate:
            continue
        zone = agg.metadata_dict.get(ZONE_KEY)
        if zone:
            zones.setdefault(host, set()).add(zone)
    return zones


async def known_zones(runtime: Runtime) -> set[str]:
    async with runtime.require_api_db()() as session:
        rows = (await session.scalars(select(Aggregate))).all()
    return {a.metadata_dict[ZONE_KEY] for a in rows if a.metadata_dict.get(ZONE_KEY)} | {
        runtime.settings.api.default_availability_zone}


async def node_uuids(runtime: Runtime, host: str) -> list[str] | None:
    """The compute node uuids of `host`, or None if no cell knows the host.

    It reads the API database (host mappings): call it before opening an API session,
    as SQLite's single connection would otherwise wait on itself.
    """
    cells = runtime.require_cells()
    try:
        cell_uuid = await cells.cell_for_host(host)
    except CellNotFound:
        return None
    async with cells.session(cell_uuid) as session:
        return list((await session.scalars(
            select(ComputeNode.uuid).where(ComputeNode.host == host, ComputeNode.deleted == 0))).all())


async def sync_host(runtime: Runtime, ctx: RequestContext, session: AsyncSession, host: str,
                    nodes: list[str]) -> None:
    """Give the host's providers (`nodes`) exactly the aggregates the (uncommitted) session has for it."""
    aggregates = list((await session.scalars(
        select(Aggregate.uuid).join(AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
        .where(AggregateHost.host == host))).all())
    placement = runtime.require_placement()
    for uuid in nodes:
        if await placement.get_resource_provider(ctx, uuid) is not None:
            await placement.set_aggregates(ctx, uuid, aggregates)
