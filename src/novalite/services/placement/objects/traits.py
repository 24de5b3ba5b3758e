"""Traits: the standard set (os-traits) plus CUSTOM_* ones, and per-provider trait sets."""

from __future__ import annotations

from typing import Iterable

import os_traits
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.db.types import utcnow
from novalite.services.placement.db_models import ResourceProviderTrait, Trait
from novalite.services.placement.objects.cache import memo
from novalite.services.placement.objects.exceptions import Conflict, InvalidRequest, NotFound

T = Trait.__table__
RPT = ResourceProviderTrait.__table__
STANDARD = frozenset(os_traits.get_traits())


async def list_names(
    session: AsyncSession,
    name_in: list[str] | None = None,
    prefix: str | None = None,
    associated: bool | None = None,
) -> list[str]:
    stmt = select(T.c.name)
    if name_in is not None:
        stmt = stmt.where(T.c.name.in_(name_in))
    if prefix is not None:
        stmt = stmt.where(T.c.name.startswith(prefix, autoescape=True))
    if associated is not None:
        linked = select(RPT.c.trait_id)
        stmt = stmt.where(T.c.id.in_(linked) if associated else T.c.id.not_in(linked))
    return list((await session.execute(stmt.order_by(T.c.name))).scalars())


async def exists(session: AsyncSession, name: str) -> bool:
    return (await session.execute(select(T.c.id).where(T.c.name == name))).first() is not None


async def ids_for(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    wanted = set(names)
    # standard traits can be neither deleted nor renamed: their ids are safe to remember
    # (every scheduling query names one, COMPUTE_STATUS_DISABLED)
    standard = memo(session, "standard_traits")
    found = {n: standard[n] for n in wanted if n in standard}
    todo = wanted - found.keys()
    if todo:
        for name, trait_id in await session.execute(select(T.c.name, T.c.id).where(T.c.name.in_(todo))):
            found[name] = trait_id
            if name in STANDARD:
                standard[name] = trait_id
    return found


async def require_ids(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    names = set(names)
    found = await ids_for(session, names)
    unknown = sorted(names - found.keys())
    if unknown:
        raise InvalidRequest(f"No such trait(s): {', '.join(unknown)}")
    return found


async def ensure(session: AsyncSession, name: str) -> bool:
    """Create a custom trait if missing; True when created."""
    if await exists(session, name):
        return False
    await session.execute(insert(T).values(name=name, created_at=utcnow()))
    return True


async def remove(session: AsyncSession, name: str) -> None:
    if name in STANDARD:
        raise InvalidRequest(f"Cannot delete standard trait {name}.")
    trait_id = (await session.execute(select(T.c.id).where(T.c.name == name))).scalar()
    if trait_id is None:
        raise NotFound(f"No such trait(s): {name}")
    used = await session.execute(select(func.count()).select_from(RPT).where(RPT.c.trait_id == trait_id))
    if used.scalar_one():
        raise Conflict(f"The trait {name} is in use by a resource provider.")
    await session.execute(delete(T).where(T.c.id == trait_id))


async def of_provider(session: AsyncSession, rp_id: int) -> list[str]:
    rows = await session.execute(
        select(T.c.name).join(RPT, RPT.c.trait_id == T.c.id).where(RPT.c.resource_provider_id == rp_id)
    )
    return sorted(rows.scalars())


async def replace_for_provider(session: AsyncSession, rp_id: int, names: Iterable[str]) -> None:
    ids = await require_ids(session, names)
    await session.execute(delete(RPT).where(RPT.c.resource_provider_id == rp_id))
    if ids:
        await session.execute(insert(RPT), [{"resource_provider_id": rp_id, "trait_id": i} for i in ids.values()])
