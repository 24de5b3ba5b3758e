"""Small helpers shared by the object modules."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from novalite.services.placement.objects.exceptions import ConcurrentUpdate


def lost_race(exc: DBAPIError) -> bool:
    """A unique key, a deadlock or a serialization failure: another request won a race."""
    if isinstance(exc, IntegrityError):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40001", "40P01")


# Sessions and connections both execute statements; the claim path uses the connection
# directly to skip the ORM layer it does not need.
Executor = AsyncSession | AsyncConnection


def dialect_name(db: Executor) -> str:
    return db.dialect.name if isinstance(db, AsyncConnection) else db.bind.dialect.name


async def connection_of(db: Executor) -> AsyncConnection:
    return db if isinstance(db, AsyncConnection) else await db.connection()


def insert_ignore(db: Executor, table: Table):  # type: ignore[no-untyped-def]
    """INSERT ... ON CONFLICT DO NOTHING for the dialect (racing creators are fine)."""
    if dialect_name(db) == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def ensure_named_ids(
    session: Executor, table: Table, column: str, values: Iterable[str],
    cache: dict[str, int] | None = None,
) -> dict[str, int]:
    """Ids of rows whose `column` is in `values`, creating the missing ones.

    `cache` may only be given for tables whose rows are never deleted.
    """
    wanted = set(values)
    found = {v: cache[v] for v in wanted if v in cache} if cache is not None else {}
    todo = wanted - found.keys()
    if not todo:
        return found
    col = table.c[column]
    existing = {r[0]: r[1] for r in await session.execute(select(col, table.c.id).where(col.in_(todo)))}
    found.update(existing)
    # only rows that existed before this transaction are remembered: ours may yet roll back
    if cache is not None:
        cache.update(existing)
    missing = wanted - found.keys()
    if missing:
        await session.execute(insert_ignore(session, table), [{column: v} for v in missing])
        found.update(
            {r[0]: r[1] for r in await session.execute(select(col, table.c.id).where(col.in_(missing)))}
        )
    return found


_BUMPS: dict[str, object] = {}


def _bump_statement(table: Table):  # type: ignore[no-untyped-def]
    # built once per table: the claim path runs it for every provider it touches
    if table.name not in _BUMPS:
        _BUMPS[table.name] = (
            table.update()
            .where(table.c.id == bindparam("row_id"), table.c.generation == bindparam("expected"))
            .values(generation=bindparam("expected") + 1)
        )
    return _BUMPS[table.name]


async def bump_generation(session: Executor, table: Table, row_id: int, expected: int, what: str) -> int:
    """Compare-and-swap a generation column; the loser of a race gets ConcurrentUpdate."""
    result = await session.execute(_bump_statement(table), {"row_id": row_id, "expected": expected})
    if result.rowcount != 1:
        raise ConcurrentUpdate(
            f"{what} was updated by another request (generation {expected} is stale). "
            "Fetch it again and retry."
        )
    return expected + 1
