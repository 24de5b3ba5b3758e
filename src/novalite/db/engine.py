"""Async engines for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncContextManager, AsyncIterator

from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


registry.register("sqlite.novalite", "novalite.db.inline_sqlite", "InlineSQLiteDialect")


PG_CONNECT_TIMEOUT = 10.0  # seconds


def make_engine(url: str, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An engine tuned per backend.

    SQLite gets a single connection: SQLite serializes writers anyway, and one
    connection turns "database is locked" races into an orderly asyncio queue.
    Its statements run inline on the event loop (see inline_sqlite.py).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            parsed.set(drivername="sqlite+novalite"), echo=echo, pool_size=1, max_overflow=0, pool_timeout=300,
            connect_args={"timeout": 30},
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # A cell whose database host is gone must fail fast (listing then shows its servers as
    # minimal records) rather than hold requests for asyncpg's default minute.
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2,
        connect_args={"timeout": PG_CONNECT_TIMEOUT},
    )


class InlineClosingSession(AsyncSession):
    """A session that closes in the caller's task, for the inline SQLite driver.

    SQLAlchemy closes an `async with` session in a task of its own, shielded so a
    cancellation cannot abandon a half-returned connection. That costs the caller two
    loop turns and keeps the connection checked out until the loop reaches the close
    task; with one connection per SQLite database, every other task waiting for it
    waits a whole loop cycle per session. Inline statements never suspend, so the
    close cannot be interrupted and needs no task.
    """

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        await self.close()


class InlineSessionMaker(async_sessionmaker[AsyncSession]):
    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        """`async with maker.begin() as session`: commit or roll back, then close, in the caller's task."""
        async with self() as session, session.begin():
            yield session


@asynccontextmanager
async def _inline_begin(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    connection = await engine.connect()
    try:
        async with connection.begin():
            yield connection
    finally:
        await connection.close()


def begin_connection(engine: AsyncEngine) -> AsyncContextManager[AsyncConnection]:
    """`engine.begin()`: a bare connection in a transaction; for the inline SQLite driver it
    closes in the caller's task, for the reason InlineClosingSession gives."""
    if engine.dialect.driver == "novalite":
        return _inline_begin(engine)
    return engine.begin()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    if engine.dialect.driver == "novalite":
        return InlineSessionMaker(engine, expire_on_commit=False, class_=InlineClosingSession)
    return async_sessionmaker(engine, expire_on_commit=False)
