"""Aggregate membership of providers."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.services.placement.db_models import PlacementAggregate, ResourceProviderAggregate
from novalite.services.placement.objects.common import bump_generation, ensure_named_ids
from novalite.services.placement.objects.exceptions import ConcurrentUpdate
from novalite.services.placement.objects.providers import RP, Provider

AGG = PlacementAggregate.__table__
RPA = ResourceProviderAggregate.__table__


async def of_provider(session: AsyncSession, provider: Provider) -> list[str]:
    rows = await session.execute(
        select(AGG.c.uuid).join(RPA, RPA.c.aggregate_id == AGG.c.id)
        .where(RPA.c.resource_provider_id == provider.id).order_by(AGG.c.uuid)
    )
    return list(rows.scalars())


async def replace_for_provider(
    session: AsyncSession, provider: Provider, uuids: Iterable[str],
    generation: int | None = None, increment_generation: bool = True,
) -> int:
    """Set the provider's aggregates; the generation is checked and bumped from 1.19 on."""
    if generation is not None and generation != provider.generation:
        raise ConcurrentUpdate(
            f"Update conflict: Resource provider {provider.uuid} generation {generation} does not "
            f"match the current generation {provider.generation}.")
    ids = await ensure_named_ids(session, AGG, "uuid", uuids)
    await session.execute(delete(RPA).where(RPA.c.resource_provider_id == provider.id))
    if ids:
        await session.execute(insert(RPA), [{"resource_provider_id": provider.id, "aggregate_id": i}
                                            for i in ids.values()])
    if not increment_generation:
        return provider.generation
    return await bump_generation(session, RP, provider.id, provider.generation,
                                 f"resource provider {provider.uuid}")
