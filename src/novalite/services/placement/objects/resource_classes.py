"""Resource classes: the standard set (os-resource-classes) plus CUSTOM_* ones."""

from __future__ import annotations

from typing import Iterable

import os_resource_classes
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.db.types import utcnow
from novalite.services.placement.db_models import Allocation, Inventory, ResourceClass
from novalite.services.placement.objects.cache import memo
from novalite.services.placement.objects.exceptions import Conflict, DUPLICATE_NAME, InvalidRequest, NotFound

RC = ResourceClass.__table__
STANDARD = frozenset(os_resource_classes.STANDARDS)


def is_custom(name: str) -> bool:
    return name.startswith(os_resource_classes.CUSTOM_NAMESPACE)


async def list_names(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(RC.c.name).order_by(RC.c.id))).scalars())


async def exists(session: AsyncSession, name: str) -> bool:
    return (await session.execute(select(RC.c.id).where(RC.c.name == name))).first() is not None


async def ids_for(session: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    """name -> id for existing classes (unknown names are simply absent)."""
    wanted = set(names)
    # standard classes can be neither deleted nor renamed: their ids are safe to remember
    standard = memo(session, "standard_classes")
    found = {n: standard[n] for n in wanted if n in standard}
    todo = wanted - found.keys()
    if todo:
        rows = await session.execute(select(RC.c.name, RC.c.id).where(RC.c.name.in_(todo)))
        for name, rc_id in rows:
            found[name] = rc_id
            if name in STANDARD:
                standard[name] = rc_id
    return found


async def require_ids(session: AsyncSession, names: Iterable[str], what: str) -> dict[str, int]:
    names = list(names)
    found = await ids_for(session, names)
    unknown = sorted(set(names) - found.keys())
    if unknown:
        raise InvalidRequest(f"Unknown resource class in {what}: {', '.join(unknown)}")
    return found


async def names_for(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    """id -> name for these classes (standard ones from memory)."""
    standard = {i: n for n, i in memo(session, "standard_classes").items()}
    found = {i: standard[i] for i in ids if i in standard}
    todo = ids - found.keys()
    if todo:
        for rc_id, name in await session.execute(select(RC.c.id, RC.c.name).where(RC.c.id.in_(todo))):
            found[rc_id] = name
            if name in STANDARD:
                memo(session, "standard_classes")[name] = rc_id
    return found


async def names_by_id(session: AsyncSession) -> dict[int, str]:
    return {rc_id: name for rc_id, name in await session.execute(select(RC.c.id, RC.c.name))}


async def create(session: AsyncSession, name: str) -> None:
    if await exists(session, name):
        raise Conflict(f"Conflicting resource class already exists: {name}", DUPLICATE_NAME)
    await session.execute(insert(RC).values(name=name, created_at=utcnow()))


async def ensure(session: AsyncSession, name: str) -> bool:
    """Create a custom class if missing; True when it was created."""
    if await exists(session, name):
        return False
    await session.execute(insert(RC).values(name=name, created_at=utcnow()))
    return True


async def _in_use(session: AsyncSession, rc_id: int) -> bool:
    inv = await session.execute(select(func.count()).select_from(Inventory).where(Inventory.resource_class_id == rc_id))
    alloc = await session.execute(select(func.count()).select_from(Allocation).where(Allocation.resource_class_id == rc_id))
    return bool(inv.scalar_one() or alloc.scalar_one())


async def _custom_id(session: AsyncSession, name: str, verb: str) -> int:
    if name in STANDARD:
        raise InvalidRequest(f"Cannot {verb} standard resource class {name}")
    rc_id = (await session.execute(select(RC.c.id).where(RC.c.name == name))).scalar()
    if rc_id is None:
        raise NotFound(f"No such resource class {name}")
    return rc_id


async def rename(session: AsyncSession, old: str, new: str) -> None:
    rc_id = await _custom_id(session, old, "update")
    if await exists(session, new):
        raise Conflict(f"Resource class already exists: {new}", DUPLICATE_NAME)
    await session.execute(update(RC).where(RC.c.id == rc_id).values(name=new, updated_at=utcnow()))


async def remove(session: AsyncSession, name: str) -> None:
    rc_id = await _custom_id(session, name, "delete")
    if await _in_use(session, rc_id):
        raise Conflict(f"Unable to delete resource class {name}. The class is in use in inventory.")
    await session.execute(delete(RC).where(RC.c.id == rc_id))
