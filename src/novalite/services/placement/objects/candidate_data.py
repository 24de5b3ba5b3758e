"""The SQL side of allocation candidates: which trees can serve a request, and their data.

Set-based queries only: one query finds the viable root providers (ordered, so `limit`
can stop early), then four queries fetch providers, inventories with usage, traits and
aggregates for just those trees. Python never sees a provider that cannot matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, intersect, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from novalite.services.placement.db_models import (
    Allocation,
    Inventory,
    PlacementAggregate,
    ResourceProvider,
    ResourceProviderAggregate,
    ResourceProviderTrait,
    Trait,
)

RP = ResourceProvider.__table__
INV = Inventory.__table__
ALLOC = Allocation.__table__
RPA = ResourceProviderAggregate.__table__
AGG = PlacementAggregate.__table__
RPT = ResourceProviderTrait.__table__
TRAIT = Trait.__table__
SHARES = "MISC_SHARES_VIA_AGGREGATE"


@dataclass
class InvRow:
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float
    used: int

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)

    def fits(self, amount: int, already: int = 0) -> bool:
        return (self.min_unit <= amount <= self.max_unit and amount % self.step_size == 0
                and self.used + already + amount <= self.capacity)


@dataclass
class TreeData:
    """Everything about a batch of trees the combination step needs."""

    uuid: dict[int, str] = field(default_factory=dict)
    parent: dict[int, int | None] = field(default_factory=dict)
    root: dict[int, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)      # root id -> provider ids
    inventory: dict[int, dict[int, InvRow]] = field(default_factory=dict)   # rp -> rc -> row
    traits: dict[int, set[str]] = field(default_factory=dict)
    aggregates: dict[int, set[str]] = field(default_factory=dict)
    sharing_for_root: dict[int, list[int]] = field(default_factory=dict)   # anchor root -> sharing rps


async def sharing_provider_ids(session: AsyncSession) -> set[int]:
    rows = await session.execute(
        select(RPT.c.resource_provider_id).join(TRAIT, TRAIT.c.id == RPT.c.trait_id).where(TRAIT.c.name == SHARES))
    return set(rows.scalars())


def _with_capacity(rc_id: int, amount: int) -> Select:  # type: ignore[type-arg]
    """Providers having room for `amount` of one class (respecting min/max/step)."""
    usage = (select(ALLOC.c.resource_provider_id.label("rp_id"), func.sum(ALLOC.c.used).label("used"))
             .where(ALLOC.c.resource_class_id == rc_id)
             .group_by(ALLOC.c.resource_provider_id).subquery())
    return (
        select(INV.c.resource_provider_id.label("rp_id"))
        .outerjoin(usage, usage.c.rp_id == INV.c.resource_provider_id)
        .where(
            INV.c.resource_class_id == rc_id,
            (INV.c.total - INV.c.reserved) * INV.c.allocation_ratio >= func.coalesce(usage.c.used, 0) + amount,
            INV.c.min_unit <= amount, INV.c.max_unit >= amount, literal(amount) % INV.c.step_size == 0,
        )
    )


async def providers_with_capacity(session: AsyncSession, rc_id: int, amount: int, among: set[int]) -> set[int]:
    if not among:
        return set()
    sub = _with_capacity(rc_id, amount).where(INV.c.resource_provider_id.in_(among))
    return set((await session.execute(sub)).scalars())


async def anchors_of_sharing(session: AsyncSession, sharing_ids: set[int]) -> dict[int, set[int]]:
    """sharing provider -> roots of every provider sharing an aggregate with it (itself included)."""
    if not sharing_ids:
        return {}
    a1, a2 = aliased(RPA), aliased(RPA)
    rows = await session.execute(
        select(a1.c.resource_provider_id, RP.c.root_provider_id).distinct()
        .join(a2, a2.c.aggregate_id == a1.c.aggregate_id)
        .join(RP, RP.c.id == a2.c.resource_provider_id)
        .where(a1.c.resource_provider_id.in_(sharing_ids))
    )
    out: dict[int, set[int]] = {s: {s} for s in sharing_ids}
    for sharing, root in rows:
        out[sharing].add(root)
    return out


def roots_serving(rc_id: int, amount: int, extra_roots: set[int]) -> Select:  # type: ignore[type-arg]
    """Roots with some provider that has room for the amount, plus roots served by sharing."""
    cap = _with_capacity(rc_id, amount).subquery()
    stmt = select(RP.c.root_provider_id.label("root_id")).join(cap, cap.c.rp_id == RP.c.id)
    if extra_roots:
        stmt = union(stmt, select(RP.c.id.label("root_id")).where(RP.c.id.in_(extra_roots)))  # type: ignore[assignment]
    return stmt


async def viable_roots(
    session: AsyncSession, selects: list[Select], allowed_roots: set[int] | None,  # type: ignore[type-arg]
    offset: int, batch: int | None,
) -> list[int]:
    """Root ids that every (group, class) can be served from, in id order, one batch at a time."""
    combined = selects[0] if len(selects) == 1 else intersect(*selects)
    sub = combined.subquery()
    stmt = select(sub.c.root_id)
    if allowed_roots is not None:
        stmt = stmt.where(sub.c.root_id.in_(allowed_roots))
    stmt = stmt.order_by(sub.c.root_id)
    if batch is not None:
        stmt = stmt.limit(batch).offset(offset)
    return list((await session.execute(stmt)).scalars())


async def load_trees(session: AsyncSession, root_ids: list[int], extra_ids: set[int], data: TreeData) -> None:
    """Fill `data` with the providers of the trees (plus extra sharing providers)."""
    tree_filter = RP.c.root_provider_id.in_(root_ids)
    if extra_ids:
        tree_filter = tree_filter | RP.c.id.in_(extra_ids)
    new_ids: list[int] = []
    for rp_id, uuid, parent, root in await session.execute(
        select(RP.c.id, RP.c.uuid, RP.c.parent_provider_id, RP.c.root_provider_id).where(tree_filter).order_by(RP.c.id)
    ):
        if rp_id in data.uuid:
            continue
        data.uuid[rp_id], data.parent[rp_id], data.root[rp_id] = uuid, parent, root
        data.members.setdefault(root, []).append(rp_id)
        new_ids.append(rp_id)
    if not new_ids:
        return
    ids = set(new_ids)
    usage = (select(ALLOC.c.resource_provider_id.label("rp_id"), ALLOC.c.resource_class_id.label("rc_id"),
                    func.sum(ALLOC.c.used).label("used"))
             .where(ALLOC.c.resource_provider_id.in_(ids))
             .group_by(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id).subquery())
    rows = await session.execute(
        select(INV.c.resource_provider_id, INV.c.resource_class_id, INV.c.total, INV.c.reserved, INV.c.min_unit,
               INV.c.max_unit, INV.c.step_size, INV.c.allocation_ratio, func.coalesce(usage.c.used, 0))
        .outerjoin(usage, (usage.c.rp_id == INV.c.resource_provider_id) & (usage.c.rc_id == INV.c.resource_class_id))
        .where(INV.c.resource_provider_id.in_(ids))
    )
    for rp_id, rc_id, total, reserved, min_u, max_u, step, ratio, used in rows:
        data.inventory.setdefault(rp_id, {})[rc_id] = InvRow(total, reserved, min_u, max_u, step, ratio, int(used))
    for rp_id, name in await session.execute(
        select(RPT.c.resource_provider_id, TRAIT.c.name).join(TRAIT, TRAIT.c.id == RPT.c.trait_id)
        .where(RPT.c.resource_provider_id.in_(ids))
    ):
        data.traits.setdefault(rp_id, set()).add(name)
    for rp_id, agg in await session.execute(
        select(RPA.c.resource_provider_id, AGG.c.uuid).join(AGG, AGG.c.id == RPA.c.aggregate_id)
        .where(RPA.c.resource_provider_id.in_(ids))
    ):
        data.aggregates.setdefault(rp_id, set()).add(agg)
