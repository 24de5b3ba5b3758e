"""Inventories of a provider: what it has, guarded by the provider generation."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.services.placement.db_models import Allocation, Inventory, ResourceClass
from novalite.services.placement.objects import resource_classes
from novalite.services.placement.objects.common import bump_generation
from novalite.services.placement.objects.exceptions import (
    INVENTORY_INUSE,
    ConcurrentUpdate,
    Conflict,
    InvalidRequest,
    NotFound,
)
from novalite.services.placement.objects.providers import RP, Provider

INV = Inventory.__table__
ALLOC = Allocation.__table__
RC = ResourceClass.__table__
MAX_INT = 2147483647
FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")
DEFAULTS: dict[str, Any] = {"reserved": 0, "min_unit": 1, "max_unit": MAX_INT, "step_size": 1,
                            "allocation_ratio": 1.0}


def with_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    out = {**DEFAULTS, **{k: v for k, v in data.items() if k in FIELDS}}
    out["allocation_ratio"] = float(out["allocation_ratio"])
    return out


def capacity(inv: Mapping[str, Any]) -> int:
    return int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])


def _check_capacity(provider: Provider, rc: str, inv: Mapping[str, Any], reserved_can_be_total: bool) -> None:
    cap = capacity(inv)
    if cap < 0 or (cap == 0 and not reserved_can_be_total):
        raise InvalidRequest(
            f"Unable to update inventory for resource provider {provider.uuid}: Invalid inventory for "
            f"'{rc}' on resource provider '{provider.uuid}'. The reserved value is greater than "
            f"{'' if reserved_can_be_total else 'or equal to '}total.")


async def get_all(session: AsyncSession, provider: Provider) -> dict[str, dict[str, Any]]:
    rows = await session.execute(
        select(RC.c.name, *(INV.c[f] for f in FIELDS))
        .join(RC, RC.c.id == INV.c.resource_class_id)
        .where(INV.c.resource_provider_id == provider.id)
    )
    return {row[0]: dict(zip(FIELDS, row[1:])) for row in rows}


async def _used_by_class(session: AsyncSession, provider: Provider) -> dict[int, int]:
    rows = await session.execute(
        select(ALLOC.c.resource_class_id, func.sum(ALLOC.c.used))
        .where(ALLOC.c.resource_provider_id == provider.id)
        .group_by(ALLOC.c.resource_class_id)
    )
    return {rc_id: int(used) for rc_id, used in rows}


def _check_generation(provider: Provider, generation: int | None) -> None:
    if generation is not None and generation != provider.generation:
        raise ConcurrentUpdate("resource provider generation conflict")


async def replace_all(
    session: AsyncSession, provider: Provider, generation: int | None,
    inventories: Mapping[str, Mapping[str, Any]], reserved_can_be_total: bool = True,
) -> int:
    """Make the provider's inventory exactly `inventories`; returns the new generation."""
    _check_generation(provider, generation)
    ids = await resource_classes.ids_for(session, inventories)
    unknown = sorted(set(inventories) - ids.keys())
    if unknown:
        raise InvalidRequest(f"Unknown resource class in inventory for resource provider "
                             f"{provider.uuid}: {', '.join(unknown)}")
    wanted = {ids[rc]: with_defaults(inv) for rc, inv in inventories.items()}
    for rc, inv in inventories.items():
        _check_capacity(provider, rc, wanted[ids[rc]], reserved_can_be_total)
    current = {r[0]: r[1] for r in await session.execute(
        select(INV.c.resource_class_id, INV.c.id).where(INV.c.resource_provider_id == provider.id))}
    removed = set(current) - set(wanted)
    if removed:
        used = await _used_by_class(session, provider)
        in_use = [rc_id for rc_id in removed if used.get(rc_id)]
        if in_use:
            names = await resource_classes.names_by_id(session)
            raise Conflict(f"update conflict: Inventory for '{', '.join(sorted(names[i] for i in in_use))}' "
                           f"on resource provider '{provider.uuid}' in use.", INVENTORY_INUSE)
        await session.execute(delete(INV).where(INV.c.id.in_([current[i] for i in removed])))
    for rc_id, inv in wanted.items():
        if rc_id in current:
            await session.execute(update(INV).where(INV.c.id == current[rc_id]).values(**inv))
    used = await _used_by_class(session, provider) if set(wanted) - set(current) else {}
    new = [{"resource_provider_id": provider.id, "resource_class_id": rc_id, "used": used.get(rc_id, 0), **inv}
           for rc_id, inv in wanted.items() if rc_id not in current]
    if new:
        await session.execute(insert(INV), new)
    return await bump_generation(session, RP, provider.id, provider.generation, f"resource provider {provider.uuid}")


async def set_one(
    session: AsyncSession, provider: Provider, generation: int | None, rc: str,
    data: Mapping[str, Any], reserved_can_be_total: bool = True,
) -> tuple[dict[str, Any], int]:
    """Update one existing class's inventory (PUT .../inventories/{rc})."""
    _check_generation(provider, generation)
    rc_id = (await resource_classes.ids_for(session, [rc])).get(rc)
    inv = with_defaults(data)
    _check_capacity(provider, rc, inv, reserved_can_be_total)
    row = None if rc_id is None else (await session.execute(
        select(INV.c.id).where(INV.c.resource_provider_id == provider.id, INV.c.resource_class_id == rc_id))).first()
    if row is None:
        raise InvalidRequest(f"No inventory record with resource class for resource provider "
                             f"{provider.uuid}: {rc}")
    await session.execute(update(INV).where(INV.c.id == row[0]).values(**inv))
    gen = await bump_generation(session, RP, provider.id, provider.generation, f"resource provider {provider.uuid}")
    return inv, gen


async def add_one(
    session: AsyncSession, provider: Provider, rc: str, data: Mapping[str, Any],
    reserved_can_be_total: bool = True,
) -> tuple[dict[str, Any], int]:
    """Create one class's inventory (POST .../inventories)."""
    rc_id = (await resource_classes.ids_for(session, [rc])).get(rc)
    if rc_id is None:
        raise InvalidRequest(f"Unable to create inventory for resource provider {provider.uuid}: "
                             f"No such resource class {rc}.")
    inv = with_defaults(data)
    _check_capacity(provider, rc, inv, reserved_can_be_total)
    exists = (await session.execute(
        select(INV.c.id).where(INV.c.resource_provider_id == provider.id, INV.c.resource_class_id == rc_id))).first()
    if exists:
        raise Conflict(f"Update conflict: Inventory for '{rc}' on resource provider '{provider.uuid}' "
                       "already exists.")
    used = (await _used_by_class(session, provider)).get(rc_id, 0)
    await session.execute(insert(INV).values(resource_provider_id=provider.id, resource_class_id=rc_id,
                                             used=used, **inv))
    gen = await bump_generation(session, RP, provider.id, provider.generation, f"resource provider {provider.uuid}")
    return inv, gen


async def delete_one(session: AsyncSession, provider: Provider, rc: str) -> None:
    rc_id = (await resource_classes.ids_for(session, [rc])).get(rc)
    row = None if rc_id is None else (await session.execute(
        select(INV.c.id).where(INV.c.resource_provider_id == provider.id, INV.c.resource_class_id == rc_id))).first()
    if row is None:
        raise NotFound(f"No inventory of class {rc} found for delete")
    if (await _used_by_class(session, provider)).get(rc_id):
        raise Conflict(f"Inventory for '{rc}' on resource provider '{provider.uuid}' in use.", INVENTORY_INUSE)
    await session.execute(delete(INV).where(INV.c.id == row[0]))
    await bump_generation(session, RP, provider.id, provider.generation, f"resource provider {provider.uuid}")
