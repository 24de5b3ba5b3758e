"""Resource providers and their trees."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, exists, insert, literal, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from novalite.db.types import utcnow
from novalite.services.placement.db_models import (
    Allocation,
    Inventory,
    PlacementAggregate,
    ResourceProvider,
    ResourceProviderAggregate,
    ResourceProviderTrait,
    Trait,
)
from novalite.services.placement.objects import resource_classes
from novalite.services.placement.objects.exceptions import (
    PROVIDER_CANNOT_DELETE_PARENT,
    PROVIDER_IN_USE,
    DUPLICATE_NAME,
    Conflict,
    InvalidRequest,
    NotFound,
)
from novalite.services.placement.objects.filters import AggregateFilter, TraitFilter

RP = ResourceProvider.__table__
INV = Inventory.__table__
ALLOC = Allocation.__table__
RPA = ResourceProviderAggregate.__table__
AGG = PlacementAggregate.__table__
RPT = ResourceProviderTrait.__table__
TRAIT = Trait.__table__
_ROOT = aliased(RP, name="root")
_PARENT = aliased(RP, name="parent")


@dataclass
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    root_id: int
    parent_id: int | None
    root_uuid: str
    parent_uuid: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


def _select():  # type: ignore[no-untyped-def]
    return (
        select(RP.c.id, RP.c.uuid, RP.c.name, RP.c.generation, RP.c.root_provider_id,
               RP.c.parent_provider_id, _ROOT.c.uuid, _PARENT.c.uuid, RP.c.created_at, RP.c.updated_at)
        .join(_ROOT, _ROOT.c.id == RP.c.root_provider_id)
        .outerjoin(_PARENT, _PARENT.c.id == RP.c.parent_provider_id)
    )


def _record(row) -> Provider:  # type: ignore[no-untyped-def]
    return Provider(*row)


async def get(session: AsyncSession, uuid: str) -> Provider | None:
    row = (await session.execute(_select().where(RP.c.uuid == uuid))).first()
    return _record(row) if row else None


async def require(session: AsyncSession, uuid: str) -> Provider:
    provider = await get(session, uuid)
    if provider is None:
        raise NotFound(f"No resource provider with uuid {uuid} found")
    return provider


async def _check_name_free(session: AsyncSession, name: str, own_id: int | None = None) -> None:
    stmt = select(RP.c.id).where(RP.c.name == name)
    if own_id is not None:
        stmt = stmt.where(RP.c.id != own_id)
    if (await session.execute(stmt)).first():
        raise Conflict(f"Conflicting resource provider name: {name} already exists.", DUPLICATE_NAME)


async def create(session: AsyncSession, uuid: str, name: str, parent_uuid: str | None = None) -> Provider:
    if (await session.execute(select(RP.c.id).where(RP.c.uuid == uuid))).first():
        raise Conflict(f"Conflicting resource provider uuid: {uuid} already exists.")
    await _check_name_free(session, name)
    parent_id = root_id = None
    if parent_uuid is not None:
        parent = await get(session, parent_uuid)
        if parent is None:
            raise InvalidRequest(f"The resource provider {uuid} cannot be created: parent provider "
                                 f"{parent_uuid} does not exist.")
        parent_id, root_id = parent.id, parent.root_id
    now = utcnow()
    rp_id = (await session.execute(
        insert(RP).values(uuid=uuid, name=name, generation=0, parent_provider_id=parent_id,
                          created_at=now, updated_at=now).returning(RP.c.id)
    )).scalar_one()
    await session.execute(update(RP).where(RP.c.id == rp_id).values(root_provider_id=root_id or rp_id))
    return await require(session, uuid)


async def _subtree_ids(session: AsyncSession, provider: Provider) -> set[int]:
    rows = (await session.execute(
        select(RP.c.id, RP.c.parent_provider_id).where(RP.c.root_provider_id == provider.root_id)
    )).all()
    children: dict[int | None, list[int]] = {}
    for rp_id, parent_id in rows:
        children.setdefault(parent_id, []).append(rp_id)
    found, todo = set(), [provider.id]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, []))
    return found


_UNSET = object()


async def update_provider(session: AsyncSession, uuid: str, name: str,
                          parent_uuid: str | None | object = _UNSET, allow_reparent: bool = False) -> Provider:
    provider = await require(session, uuid)
    await _check_name_free(session, name, own_id=provider.id)
    # as in Placement, renaming or re-parenting leaves the generation alone
    values: dict[str, object] = {"name": name, "updated_at": utcnow()}
    if parent_uuid is not _UNSET and parent_uuid != provider.parent_uuid:
        if not allow_reparent and provider.parent_uuid is not None:
            raise InvalidRequest("re-parenting a provider is not currently allowed.")
        subtree = await _subtree_ids(session, provider)
        if parent_uuid is None:
            if not allow_reparent:
                raise InvalidRequest("un-parenting a provider is not currently allowed.")
            new_root = provider.id
            values["parent_provider_id"] = None
        else:
            parent = await get(session, str(parent_uuid))
            if parent is None:
                raise InvalidRequest(f"parent provider UUID {parent_uuid} does not exist.")
            if parent.id in subtree:
                raise InvalidRequest("creating loop in the provider tree is not allowed.")
            new_root = parent.root_id
            values["parent_provider_id"] = parent.id
        if new_root != provider.root_id:
            await session.execute(update(RP).where(RP.c.id.in_(subtree)).values(root_provider_id=new_root))
    await session.execute(update(RP).where(RP.c.id == provider.id).values(**values))
    return await require(session, uuid)


async def remove(session: AsyncSession, uuid: str) -> None:
    provider = await require(session, uuid)
    if (await session.execute(select(ALLOC.c.id).where(ALLOC.c.resource_provider_id == provider.id).limit(1))).first():
        raise Conflict(f"Unable to delete resource provider {uuid}: Resource provider has allocations.",
                       PROVIDER_IN_USE)
    if (await session.execute(select(RP.c.id).where(RP.c.parent_provider_id == provider.id).limit(1))).first():
        raise Conflict(f"Unable to delete parent resource provider {uuid}: It has child resource providers.",
                       PROVIDER_CANNOT_DELETE_PARENT)
    for table in (INV, RPT, RPA):
        await session.execute(delete(table).where(table.c.resource_provider_id == provider.id))
    await session.execute(delete(RP).where(RP.c.id == provider.id))


def _capacity_clause(rc_id: int, amount: int):  # type: ignore[no-untyped-def]
    return exists(select(INV.c.id).where(
        INV.c.resource_provider_id == RP.c.id,
        INV.c.resource_class_id == rc_id,
        (INV.c.total - INV.c.reserved) * INV.c.allocation_ratio >= INV.c.used + amount,
        INV.c.min_unit <= amount, INV.c.max_unit >= amount, literal(amount) % INV.c.step_size == 0,
    ))


def _aggregate_clause(uuids: frozenset[str] | set[str]):  # type: ignore[no-untyped-def]
    return exists(select(RPA.c.aggregate_id).join(AGG, AGG.c.id == RPA.c.aggregate_id).where(
        RPA.c.resource_provider_id == RP.c.id, AGG.c.uuid.in_(uuids)))


def _trait_clause(names: frozenset[str] | set[str]):  # type: ignore[no-untyped-def]
    return exists(select(RPT.c.trait_id).join(TRAIT, TRAIT.c.id == RPT.c.trait_id).where(
        RPT.c.resource_provider_id == RP.c.id, TRAIT.c.name.in_(names)))


async def list_providers(
    session: AsyncSession,
    *,
    name: str | None = None,
    uuid: str | None = None,
    in_tree: str | None = None,
    member_of: AggregateFilter | None = None,
    traits: TraitFilter | None = None,
    resources: dict[str, int] | None = None,
) -> list[Provider]:
    stmt = _select()
    if name is not None:
        stmt = stmt.where(RP.c.name == name)
    if uuid is not None:
        stmt = stmt.where(RP.c.uuid == uuid)
    if in_tree is not None:
        anchor = await get(session, in_tree)
        if anchor is None:
            return []
        stmt = stmt.where(RP.c.root_provider_id == anchor.root_id)
    if member_of:
        for any_of in member_of.member_of:
            stmt = stmt.where(_aggregate_clause(any_of))
        if member_of.forbidden:
            stmt = stmt.where(not_(_aggregate_clause(member_of.forbidden)))
    if traits:
        for any_of in traits.required:
            stmt = stmt.where(_trait_clause(any_of))
        if traits.forbidden:
            stmt = stmt.where(not_(_trait_clause(traits.forbidden)))
    if resources:
        ids = await resource_classes.require_ids(session, resources, "resources")
        for rc_name, amount in resources.items():
            stmt = stmt.where(_capacity_clause(ids[rc_name], amount))
    rows = await session.execute(stmt.order_by(RP.c.id))
    return [_record(r) for r in rows]


async def unknown_traits(session: AsyncSession, names: set[str]) -> list[str]:
    if not names:
        return []
    known = set((await session.execute(select(TRAIT.c.name).where(TRAIT.c.name.in_(names)))).scalars())
    return sorted(names - known)

