"""Usages: per provider, and per project/user (optionally per consumer type)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.services.placement.objects.allocations import ALLOC, CONSUMER, CTYPE, PROJECT, RC, USER
from novalite.services.placement.objects.inventories import INV
from novalite.services.placement.objects.providers import Provider


async def for_provider(session: AsyncSession, provider: Provider) -> dict[str, int]:
    """Every inventoried class (0 when unused) plus any class still allocated."""
    out = {name: 0 for name in (await session.execute(
        select(RC.c.name).join(INV, INV.c.resource_class_id == RC.c.id)
        .where(INV.c.resource_provider_id == provider.id))).scalars()}
    for name, used in await session.execute(
        select(RC.c.name, func.sum(ALLOC.c.used)).join(RC, RC.c.id == ALLOC.c.resource_class_id)
        .where(ALLOC.c.resource_provider_id == provider.id).group_by(RC.c.name)
    ):
        out[name] = int(used)
    return out


async def for_project(
    session: AsyncSession, project_id: str, user_id: str | None = None, consumer_type: str | None = None,
    by_type: bool = False,
) -> dict[str, object]:
    """Totals per class; with `by_type` (1.38), grouped by consumer type with consumer counts."""
    type_name = func.coalesce(CTYPE.c.name, "unknown")
    stmt = (select(type_name, RC.c.name, func.sum(ALLOC.c.used), func.count(func.distinct(CONSUMER.c.id)))
            .select_from(ALLOC)
            .join(CONSUMER, CONSUMER.c.uuid == ALLOC.c.consumer_id)
            .join(PROJECT, PROJECT.c.id == CONSUMER.c.project_id)
            .join(RC, RC.c.id == ALLOC.c.resource_class_id)
            .outerjoin(CTYPE, CTYPE.c.id == CONSUMER.c.consumer_type_id)
            .where(PROJECT.c.external_id == project_id))
    if user_id is not None:
        stmt = stmt.join(USER, USER.c.id == CONSUMER.c.user_id).where(USER.c.external_id == user_id)
    if consumer_type not in (None, "all"):
        stmt = stmt.where(type_name == consumer_type)
    rows = (await session.execute(stmt.group_by(type_name, RC.c.name))).all()
    if not by_type:
        totals: dict[str, object] = {}
        for _, rc, used, _ in rows:
            totals[rc] = int(totals.get(rc, 0)) + int(used)  # type: ignore[arg-type]
        return totals
    consumers = await _consumer_counts(session, stmt, type_name)
    grouped: dict[str, dict[str, int]] = {}
    for ctype, rc, used, _ in rows:
        key = "all" if consumer_type == "all" else ctype
        entry = grouped.setdefault(key, {"consumer_count": consumers.get(key, 0)})
        entry[rc] = entry.get(rc, 0) + int(used)
    return grouped  # type: ignore[return-value]


async def _consumer_counts(session: AsyncSession, stmt, type_name) -> dict[str, int]:  # type: ignore[no-untyped-def]
    sub = stmt.with_only_columns(type_name.label("t"), CONSUMER.c.id.label("c")).distinct().subquery()
    counts = {t: int(n) for t, n in await session.execute(select(sub.c.t, func.count()).group_by(sub.c.t))}
    counts["all"] = sum(counts.values())
    return counts
