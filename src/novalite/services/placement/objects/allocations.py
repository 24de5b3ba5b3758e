"""Allocations and consumers: the claim path, race-free by generations.

A write reads each touched provider's generation first, writes, re-checks capacity
inside the transaction, then compare-and-swaps every generation. Two writers that
raced on a provider cannot both win the swap, so capacity is never exceeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.db.types import utcnow
from novalite.services.placement.db_models import (
    Allocation,
    Consumer,
    ConsumerType,
    Inventory,
    Project,
    ResourceClass,
    User,
)
from novalite.services.placement.objects import resource_classes
from novalite.services.placement.objects.cache import memo
from novalite.services.placement.objects.common import (
    Executor, bump_generation, connection_of, dialect_name, ensure_named_ids, insert_ignore,
)
from novalite.services.placement.objects.exceptions import (
    ConcurrentUpdate,
    Conflict,
    InvalidRequest,
    NotFound,
)
from novalite.services.placement.objects.providers import RP, Provider

ALLOC = Allocation.__table__
CONSUMER = Consumer.__table__
CTYPE = ConsumerType.__table__
PROJECT = Project.__table__
USER = User.__table__
INV = Inventory.__table__
RC = ResourceClass.__table__

# Sentinel: the request predates consumer generations (< 1.28), so none is checked.
UNCHECKED = -1
DEFAULT_CONSUMER_TYPE = "unknown"


@dataclass
class ConsumerWrite:
    """The allocations one consumer should hold after the write (replacing what it had)."""

    consumer_uuid: str
    allocations: dict[str, dict[str, int]]          # rp uuid -> resource class -> amount
    project_id: str
    user_id: str
    consumer_generation: int | None = UNCHECKED
    consumer_type: str | None = None


@dataclass
class ConsumerInfo:
    uuid: str
    project_id: str
    user_id: str
    generation: int
    consumer_type: str | None
    allocations: dict[str, dict[str, Any]] = field(default_factory=dict)


async def get_consumer(session: AsyncSession, consumer_uuid: str) -> ConsumerInfo | None:
    """The consumer and its allocations ({rp_uuid: {"generation", "resources"}})."""
    row = (await session.execute(
        select(CONSUMER.c.uuid, PROJECT.c.external_id, USER.c.external_id, CONSUMER.c.generation, CTYPE.c.name)
        .join(PROJECT, PROJECT.c.id == CONSUMER.c.project_id)
        .join(USER, USER.c.id == CONSUMER.c.user_id)
        .outerjoin(CTYPE, CTYPE.c.id == CONSUMER.c.consumer_type_id)
        .where(CONSUMER.c.uuid == consumer_uuid)
    )).first()
    if row is None:
        return None
    info = ConsumerInfo(*row)
    rows = await session.execute(
        select(RP.c.uuid, RP.c.generation, RC.c.name, ALLOC.c.used)
        .join(RP, RP.c.id == ALLOC.c.resource_provider_id)
        .join(RC, RC.c.id == ALLOC.c.resource_class_id)
        .where(ALLOC.c.consumer_id == consumer_uuid)
    )
    for rp_uuid, generation, rc, used in rows:
        entry = info.allocations.setdefault(rp_uuid, {"generation": generation, "resources": {}})
        entry["resources"][rc] = used
    return info


async def for_provider(session: AsyncSession, provider: Provider) -> dict[str, dict[str, int]]:
    """consumer uuid -> resource class -> amount, for one provider."""
    rows = await session.execute(
        select(ALLOC.c.consumer_id, RC.c.name, ALLOC.c.used)
        .join(RC, RC.c.id == ALLOC.c.resource_class_id)
        .where(ALLOC.c.resource_provider_id == provider.id)
    )
    out: dict[str, dict[str, int]] = {}
    for consumer, rc, used in rows:
        out.setdefault(consumer, {})[rc] = used
    return out


_PROVIDERS = select(RP.c.uuid, RP.c.id, RP.c.generation).where(RP.c.uuid.in_(bindparam("uuids", expanding=True)))
_CONSUMERS = (select(CONSUMER.c.uuid, CONSUMER.c.id, CONSUMER.c.generation)
              .where(CONSUMER.c.uuid.in_(bindparam("uuids", expanding=True))))


def _require_all(uuids: set[str], found: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    missing = sorted(uuids - found.keys())
    if missing:
        raise InvalidRequest(f"Allocation for resource provider '{missing[0]}' that does not exist.")
    return found


async def _providers_by_uuid(session: Executor, uuids: set[str]) -> dict[str, tuple[int, int]]:
    if not uuids:
        return {}
    rows = await session.execute(_PROVIDERS, {"uuids": list(uuids)})
    return _require_all(uuids, {u: (i, g) for u, i, g in rows})


def _build_providers_with_new_consumer():  # type: ignore[no-untyped-def]
    new = (postgresql.insert(CONSUMER)
           .values(uuid=bindparam("consumer"), project_id=bindparam("project_id"), user_id=bindparam("user_id"),
                   consumer_type_id=bindparam("type_id", type_=Integer), generation=0,
                   created_at=bindparam("now"), updated_at=bindparam("now"))
           .on_conflict_do_nothing().returning(CONSUMER.c.id).cte("new_consumer"))
    created = select(func.count()).select_from(new).scalar_subquery()
    return _PROVIDERS.add_columns(created)


_PROVIDERS_WITH_NEW_CONSUMER = _build_providers_with_new_consumer()


def _ids_known(write: ConsumerWrite, caches: dict[str, dict[str, int]]) -> bool:
    """The consumer's project, user and type exist already (so nothing needs creating first)."""
    return (write.project_id in caches["projects"] and write.user_id in caches["users"]
            and (not write.consumer_type or write.consumer_type in caches["consumer_types"]))


async def _providers_with_new_consumer(
    session: Executor, write: ConsumerWrite, uuids: set[str], project_id: int, user_id: int, type_id: int | None,
) -> tuple[dict[str, tuple[int, int]], bool]:
    """PostgreSQL, a new consumer's claim (the scheduler's): the provider lookup and the consumer's
    insert in one round trip, as every round trip is a large part of a claim's cost. Also
    says whether the consumer was created (False: it exists after all, a conflict)."""
    now = utcnow()
    rows = (await session.execute(_PROVIDERS_WITH_NEW_CONSUMER, {
        "uuids": list(uuids), "consumer": write.consumer_uuid, "project_id": project_id, "user_id": user_id,
        "type_id": type_id, "now": now})).all()
    return _require_all(uuids, {u: (i, g) for u, i, g, _ in rows}), bool(rows and rows[0][3])


# The claim path's statements are built once: building and hashing SQLAlchemy
# expressions per request cost more CPU than running them.
_FREED = (select(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id, func.sum(ALLOC.c.used))
          .where(ALLOC.c.consumer_id.in_(bindparam("consumers", expanding=True)))
          .group_by(ALLOC.c.resource_provider_id, ALLOC.c.resource_class_id))
_DELETE_ALLOCS = delete(ALLOC).where(ALLOC.c.consumer_id.in_(bindparam("consumers", expanding=True)))
_ADD_USED = (update(INV)
             .where(INV.c.resource_provider_id == bindparam("rp"), INV.c.resource_class_id == bindparam("rc"))
             .values(used=INV.c.used + bindparam("delta")))
_CONSUMES: dict[int, Any] = {}


def _consume_statement(classes: int):  # type: ignore[no-untyped-def]
    """Add to the usage of `classes` inventories of one provider and return them, checked after.

    One statement per provider instead of an update per class and a select: every round
    trip is a large part of a claim. Built once per number of classes.
    """
    if classes not in _CONSUMES:
        rcs = [bindparam(f"rc{i}", type_=Integer) for i in range(classes)]
        delta = case(*((INV.c.resource_class_id == rc, bindparam(f"delta{i}", type_=Integer))
                       for i, rc in enumerate(rcs)))
        _CONSUMES[classes] = (
            update(INV)
            .where(INV.c.resource_provider_id == bindparam("rp"), INV.c.resource_class_id.in_(rcs))
            .values(used=INV.c.used + delta)
            .returning(INV.c.resource_class_id, INV.c.total, INV.c.reserved, INV.c.allocation_ratio,
                       INV.c.min_unit, INV.c.max_unit, INV.c.step_size, INV.c.used)
        )
    return _CONSUMES[classes]


async def release(session: Executor, consumer_uuids: list[str]) -> int:
    """Delete the consumers' allocations, giving their amounts back to the inventories."""
    freed = (await session.execute(_FREED, {"consumers": consumer_uuids})).all()
    if not freed:
        return 0
    await session.execute(_DELETE_ALLOCS, {"consumers": consumer_uuids})
    await _add_used(session, {(rp, rc): -int(amount) for rp, rc, amount in freed})
    return len(freed)


async def _add_used(session: Executor, deltas: dict[tuple[int, int], int]) -> None:
    # sorted: concurrent writers lock inventory rows in one order, so they cannot deadlock
    params = [{"rp": rp, "rc": rc, "delta": d} for (rp, rc), d in sorted(deltas.items()) if d]
    if params:
        await session.execute(_ADD_USED, params)


async def _consume(
    session: Executor, requested: dict[tuple[int, int], list[int]],
    rp_uuids: dict[int, str], rc_names: dict[int, str],
) -> None:
    """Add the amounts to the inventories' usage, then check each row written.

    Every (provider, class) written must have inventory, obey its units and fit its capacity.
    Providers go in id order, so concurrent writers lock their inventories in one order.
    """
    by_rp: dict[int, dict[int, list[int]]] = {}
    for (rp, rc), amounts in sorted(requested.items()):
        by_rp.setdefault(rp, {})[rc] = amounts
    for rp, classes in by_rp.items():
        params: dict[str, int] = {"rp": rp}
        for i, (rc, amounts) in enumerate(classes.items()):
            params[f"rc{i}"], params[f"delta{i}"] = rc, sum(amounts)
        rows = await session.execute(_consume_statement(len(classes)), params)
        inv = {r[0]: r[1:] for r in rows}
        for rc, amounts in classes.items():
            _check_written(rp_uuids[rp], rc_names[rc], amounts, inv.get(rc))


def _check_written(rp_uuid: str, rc: str, amounts: list[int], inv: Any) -> None:
    if inv is None:
        raise Conflict(f"Unable to allocate inventory: Inventory for '{rc}' on resource provider "
                       f"'{rp_uuid}' invalid.")
    total, reserved, ratio, min_unit, max_unit, step, used = inv
    if any(a < min_unit or a > max_unit or a % step for a in amounts):
        raise Conflict(
            f"Unable to allocate inventory: Unable to create allocation for '{rc}' on resource "
            f"provider '{rp_uuid}'. The requested amount would violate inventory constraints "
            f"(min_unit {min_unit}, max_unit {max_unit}, step_size {step}).")
    if used > int((total - reserved) * ratio):
        raise Conflict(
            f"Unable to allocate inventory: Unable to create allocation for '{rc}' on resource "
            f"provider '{rp_uuid}'. The requested amount would exceed the capacity.")


def _check_consumer_generation(write: ConsumerWrite, current: int | None) -> None:
    expected = write.consumer_generation
    if expected == UNCHECKED or expected == current:
        return
    raise ConcurrentUpdate(
        f"consumer generation conflict - expected {'null' if current is None else current} but got "
        f"{'null' if expected is None else expected}")


def _consumer_exists(write: ConsumerWrite) -> ConcurrentUpdate:
    return ConcurrentUpdate(f"consumer generation conflict - expected null but consumer "
                            f"{write.consumer_uuid} already exists")


_NEW_CONSUMER: dict[str, Any] = {}


def _new_consumer(session: Executor):  # type: ignore[no-untyped-def]
    """INSERT of a consumer that does nothing if it exists (built once per dialect)."""
    dialect = dialect_name(session)
    if dialect not in _NEW_CONSUMER:
        _NEW_CONSUMER[dialect] = insert_ignore(session, CONSUMER)
    return _NEW_CONSUMER[dialect]


async def _write_consumer(
    session: Executor, write: ConsumerWrite, row: tuple[int, int] | None,
    project_id: int, user_id: int, type_id: int | None,
) -> None:
    """Create, update or (when it holds nothing now) delete the consumer row."""
    now = utcnow()
    if row is None:
        if not write.allocations:
            return
        created = await session.execute(_new_consumer(session), {
            "uuid": write.consumer_uuid, "project_id": project_id, "user_id": user_id,
            "consumer_type_id": type_id, "generation": 0, "created_at": now, "updated_at": now})
        if created.rowcount != 1:
            raise _consumer_exists(write)
        return
    if not write.allocations:
        await session.execute(delete(CONSUMER).where(CONSUMER.c.id == row[0], CONSUMER.c.generation == row[1]))
        return
    values: dict[str, Any] = {"project_id": project_id, "user_id": user_id, "updated_at": now,
                              "generation": row[1] + 1}
    if type_id is not None:
        values["consumer_type_id"] = type_id
    result = await session.execute(
        update(CONSUMER).where(CONSUMER.c.id == row[0], CONSUMER.c.generation == row[1]).values(**values))
    if result.rowcount != 1:
        raise ConcurrentUpdate(f"consumer {write.consumer_uuid} was updated by another request")


async def replace(session: Executor, writes: list[ConsumerWrite]) -> None:
    """Replace the allocations of every consumer in `writes`, all or nothing."""
    rc_names = {rc for w in writes for res in w.allocations.values() for rc in res}
    rc_ids = await resource_classes.ids_for(session, rc_names)
    caches = {kind: memo(session, kind) for kind in ("projects", "users", "consumer_types")}
    session = await connection_of(session)  # type: ignore[assignment]
    rp_uuids = {rp for w in writes for rp in w.allocations}
    # The providers' generations are read first, before anything this request writes could
    # make it wait on another (a racing claim must lose on the generation, not on capacity).
    # created is None: consumers are written below, one statement each.
    created: bool | None = None
    first = writes[0]
    if (len(writes) == 1 and first.allocations and first.consumer_generation is None
            and dialect_name(session) == "postgresql" and _ids_known(first, caches)):
        providers, created = await _providers_with_new_consumer(
            session, first, rp_uuids, caches["projects"][first.project_id], caches["users"][first.user_id],
            caches["consumer_types"][first.consumer_type] if first.consumer_type else None)
    else:
        providers = await _providers_by_uuid(session, rp_uuids)
    unknown = sorted(rc_names - rc_ids.keys())
    if unknown:
        raise InvalidRequest(f"Unable to allocate inventory: No such resource class {unknown[0]}.")
    projects = await ensure_named_ids(session, PROJECT, "external_id", {w.project_id for w in writes},
                                      caches["projects"])
    users = await ensure_named_ids(session, USER, "external_id", {w.user_id for w in writes}, caches["users"])
    types = await ensure_named_ids(session, CTYPE, "name", {w.consumer_type for w in writes if w.consumer_type},
                                   caches["consumer_types"])
    # A claim for a new consumer (generation null) needs no lookup: its insert fails if
    # the consumer exists after all, and that is the same conflict.
    lookup = [w.consumer_uuid for w in writes if w.consumer_generation is not None or not w.allocations]
    existing = {u: (i, g) for u, i, g in await session.execute(_CONSUMERS, {"uuids": lookup})} if lookup else {}
    for w in writes:
        _check_consumer_generation(w, existing[w.consumer_uuid][1] if w.consumer_uuid in existing else None)
    # allocations always belong to a consumer row, so new consumers have nothing to release
    if existing:
        await release(session, list(existing))
    requested: dict[tuple[int, int], list[int]] = {}
    rows = []
    now = utcnow()
    for w in writes:
        if created is None:
            await _write_consumer(session, w, existing.get(w.consumer_uuid), projects[w.project_id],
                                  users[w.user_id], types.get(w.consumer_type) if w.consumer_type else None)
        elif not created:
            raise _consumer_exists(w)
        for rp_uuid, resources in w.allocations.items():
            rp_id = providers[rp_uuid][0]
            for rc, amount in resources.items():
                pair = (rp_id, rc_ids[rc])
                requested.setdefault(pair, []).append(amount)
                rows.append({"resource_provider_id": rp_id, "consumer_id": w.consumer_uuid,
                             "resource_class_id": pair[1], "used": amount, "created_at": now})
    if not rows:
        return
    await session.execute(insert(ALLOC), rows)
    by_id = {i: u for u, (i, _) in providers.items()}
    # The generation swap comes before the usage update: a writer that raced another on a
    # provider loses here, with the code clients retry on, rather than on capacity.
    generations = {i: g for i, g in providers.values()}
    for rp_id in sorted({rp_id for rp_id, _ in requested}):
        await bump_generation(session, RP, rp_id, generations[rp_id], f"resource provider {by_id[rp_id]}")
    await _consume(session, requested, by_id, {i: n for n, i in rc_ids.items()})


async def delete_for_consumer(session: AsyncSession, consumer_uuid: str) -> None:
    released = await release(session, [consumer_uuid])
    await session.execute(delete(CONSUMER).where(CONSUMER.c.uuid == consumer_uuid))
    if not released:
        raise NotFound(f"No allocations for consumer '{consumer_uuid}'")


async def consumer_uuids(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(ALLOC.c.consumer_id).distinct())).scalars())
