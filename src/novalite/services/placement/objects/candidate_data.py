"""The SQL side of allocation candidates: which trees can serve a request, and their data.

Set-based queries only: the viable roots (ordered, so `limit` stops early) are a subquery
of the query that fetches their trees' providers with inventories and usage; two more
fetch traits and, when a filter needs them, aggregates. Python never sees a tree that
cannot serve the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, func, literal, literal_column, or_, select
from sqlalchemy.orm import aliased

from novalite.services.placement.db_models import (
    Inventory,
    PlacementAggregate,
    ResourceProvider,
    ResourceProviderAggregate,
    ResourceProviderTrait,
    Trait,
)
from novalite.services.placement.objects.common import Executor, connection_of, dialect_name

RP = ResourceProvider.__table__
INV = Inventory.__table__
RPA = ResourceProviderAggregate.__table__
AGG = PlacementAggregate.__table__
RPT = ResourceProviderTrait.__table__
TRAIT = Trait.__table__
SHARES = "MISC_SHARES_VIA_AGGREGATE"


class InvRow:
    """One inventory with its usage; capacity computed once (it is read per candidate)."""

    __slots__ = ("min_unit", "max_unit", "step_size", "used", "capacity")

    def __init__(self, total: int, reserved: int, min_unit: int, max_unit: int, step_size: int,
                 allocation_ratio: float, used: int):
        self.min_unit, self.max_unit, self.step_size, self.used = min_unit, max_unit, step_size, used
        self.capacity = int((total - reserved) * allocation_ratio)

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


async def sharing_provider_ids(session: Executor) -> set[int]:
    rows = await session.execute(
        select(RPT.c.resource_provider_id).join(TRAIT, TRAIT.c.id == RPT.c.trait_id).where(TRAIT.c.name == SHARES))
    return set(rows.scalars())


def in_ids(column, ids, dialect: str):  # type: ignore[no-untyped-def]
    """`column IN ids` as ONE parameter (an array, or JSON on SQLite): thousands of ids cost
    one bind, and the statement stays the same whatever the list length."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(list(ids)))))


def _fits(rc_id: int, amount: int):  # type: ignore[no-untyped-def]
    return and_(
        INV.c.resource_class_id == rc_id,
        INV.c.min_unit <= amount, INV.c.max_unit >= amount, literal(amount) % INV.c.step_size == 0,
        (INV.c.total - INV.c.reserved) * INV.c.allocation_ratio
        >= INV.c.used + amount,
    )


async def providers_with_capacity(session: Executor, rc_id: int, amount: int, among: set[int]) -> set[int]:
    if not among:
        return set()
    stmt = select(INV.c.resource_provider_id).where(_fits(rc_id, amount), INV.c.resource_provider_id.in_(among))
    return set((await session.execute(stmt)).scalars())


async def anchors_of_sharing(session: Executor, sharing_ids: set[int]) -> dict[int, set[int]]:
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


@dataclass
class Need:
    """One class a tree must be able to serve, and roots that sharing providers serve it for."""

    rc_id: int
    amount: int
    shared_roots: set[int] = field(default_factory=set)


@dataclass
class TreeFilter:
    """Conditions a tree must meet, checked in SQL so unsuitable trees are never loaded.

    `tree_traits` / `tree_aggregates`: for each set, some provider of the tree has one of
    them (necessary for any group drawing on the tree; not used when sharing providers
    exist, as they could bring the trait instead). The others apply to the root itself.
    """

    tree_traits: list[frozenset[str]] = field(default_factory=list)
    tree_aggregates: list[frozenset[str]] = field(default_factory=list)
    root_not_in_aggregates: set[str] = field(default_factory=set)
    root_traits: list[frozenset[str]] = field(default_factory=list)
    root_not_traits: set[str] = field(default_factory=set)

    def conditions(self, root_col):  # type: ignore[no-untyped-def]
        def with_trait(names):  # type: ignore[no-untyped-def]
            return (select(RPT.c.resource_provider_id).join(TRAIT, TRAIT.c.id == RPT.c.trait_id)
                    .where(TRAIT.c.name.in_(names)))

        def in_aggregate(uuids):  # type: ignore[no-untyped-def]
            return (select(RPA.c.resource_provider_id).join(AGG, AGG.c.id == RPA.c.aggregate_id)
                    .where(AGG.c.uuid.in_(uuids)))

        tree = aliased(RP)
        out = []
        for names in self.tree_traits:
            out.append(root_col.in_(select(tree.c.root_provider_id).where(tree.c.id.in_(with_trait(names)))))
        for uuids in self.tree_aggregates:
            out.append(root_col.in_(select(tree.c.root_provider_id).where(tree.c.id.in_(in_aggregate(uuids)))))
        if self.root_not_in_aggregates:
            out.append(root_col.not_in(in_aggregate(self.root_not_in_aggregates)))
        for names in self.root_traits:
            out.append(root_col.in_(with_trait(names)))
        if self.root_not_traits:
            out.append(root_col.not_in(with_trait(self.root_not_traits)))
        return out


async def has_nested_providers(session: Executor) -> bool:
    row = (await session.execute(select(RP.c.id).where(RP.c.parent_provider_id.is_not(None)).limit(1))).first()
    return row is not None


def roots_query(needs: list[Need], allowed_roots: set[int] | None, tree_filter: TreeFilter,  # type: ignore[no-untyped-def]
                nested: bool = True):
    """Roots whose tree (or a sharing provider) can serve every need, ordered by id."""
    if not any(n.shared_roots for n in needs):
        # One pass over the inventories: a root qualifies when it can serve every class.
        # Without nested providers every provider is its own root, so no join is needed
        # and, ordered by the (provider, class) index, a LIMIT stops the scan early.
        root = RP.c.root_provider_id if nested else INV.c.resource_provider_id
        stmt = select(root.label("root_id")).select_from(INV)
        if nested:
            stmt = stmt.join(RP, RP.c.id == INV.c.resource_provider_id)
        stmt = (stmt.where(or_(*(_fits(n.rc_id, n.amount) for n in needs)))
                .group_by(root)
                .having(func.count(func.distinct(INV.c.resource_class_id)) == len({n.rc_id for n in needs})))
        if allowed_roots is not None:
            stmt = stmt.where(root.in_(allowed_roots))
        for condition in tree_filter.conditions(root):
            stmt = stmt.where(condition)
        return stmt.order_by(root)
    # some classes can also come from sharing providers: test each need per root
    stmt = select(RP.c.id).where(RP.c.id == RP.c.root_provider_id)
    for n in needs:
        served = RP.c.id.in_(select(RP.c.root_provider_id).select_from(INV)
                             .join(RP, RP.c.id == INV.c.resource_provider_id).where(_fits(n.rc_id, n.amount)))
        stmt = stmt.where(or_(served, RP.c.id.in_(n.shared_roots)) if n.shared_roots else served)
    if allowed_roots is not None:
        stmt = stmt.where(RP.c.id.in_(allowed_roots))
    for condition in tree_filter.conditions(RP.c.id):
        stmt = stmt.where(condition)
    return stmt.order_by(RP.c.id)


async def fetch_rows(session: Executor, stmt) -> list:  # type: ignore[no-untyped-def,type-arg]
    """Run a SELECT and return the driver's own rows (tuples or asyncpg Records).

    The candidate queries return thousands of rows whose values need no conversion;
    building SQLAlchemy Row objects for them cost more than the queries themselves.
    The statement still goes through SQLAlchemy (compiled cache, bind processing).
    """
    conn = await connection_of(session)
    result = await conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def page(query, offset: int, batch: int | None):  # type: ignore[no-untyped-def]
    """Provider rows of one batch of viable trees, in root order."""
    if batch is not None:
        query = query.limit(batch).offset(offset)
    return RP.c.root_provider_id.in_(query)


async def load_trees(session: Executor, tree_filter, data: TreeData,  # type: ignore[no-untyped-def]
                     with_aggregates: bool) -> list[int]:
    """Fill `data` with the providers matching `tree_filter`; returns their root ids, in order."""
    dialect = dialect_name(session)
    new_ids: list[int] = []
    roots: dict[int, None] = {}
    # providers and their inventories in one round trip (a provider without inventory
    # comes back once, with NULLs)
    rows = await fetch_rows(session, select(
        RP.c.id, RP.c.uuid, RP.c.parent_provider_id, RP.c.root_provider_id,
        INV.c.resource_class_id, INV.c.total, INV.c.reserved, INV.c.min_unit, INV.c.max_unit, INV.c.step_size,
        INV.c.allocation_ratio, INV.c.used,
    ).select_from(RP).outerjoin(INV, INV.c.resource_provider_id == RP.c.id)
        .where(tree_filter).order_by(RP.c.root_provider_id, RP.c.id))
    uuids, parents, root_of, members, inventory = data.uuid, data.parent, data.root, data.members, data.inventory
    known = set(uuids)
    for rp_id, uuid, parent, root, rc_id, total, reserved, min_u, max_u, step, ratio, used in rows:
        roots[root] = None
        if rp_id in known:
            continue
        if rp_id not in uuids:
            uuids[rp_id], parents[rp_id], root_of[rp_id] = uuid, parent, root
            if root in members:
                members[root].append(rp_id)
            else:
                members[root] = [rp_id]
            new_ids.append(rp_id)
            inventory[rp_id] = {}
        if rc_id is not None:
            inventory[rp_id][rc_id] = InvRow(total, reserved, min_u, max_u, step, ratio, used)
    if not new_ids:
        return list(roots)
    for rp_id, name in await fetch_rows(session, (
        select(RPT.c.resource_provider_id, TRAIT.c.name).join(TRAIT, TRAIT.c.id == RPT.c.trait_id)
        .where(in_ids(RPT.c.resource_provider_id, new_ids, dialect))
    )):
        data.traits.setdefault(rp_id, set()).add(name)
    if with_aggregates:
        for rp_id, agg in await fetch_rows(session, (
            select(RPA.c.resource_provider_id, AGG.c.uuid).join(AGG, AGG.c.id == RPA.c.aggregate_id)
            .where(in_ids(RPA.c.resource_provider_id, new_ids, dialect))
        )):
            data.aggregates.setdefault(rp_id, set()).add(agg)
    return list(roots)
