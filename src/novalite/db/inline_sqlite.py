"""SQLite on the event loop's own thread, behind SQLAlchemy's asyncio interface.

aiosqlite runs every statement on a helper thread; each statement then costs two
thread hand-offs and a GIL switch, which for the all-in-one's short statements on
a local file is several times the work of the statement itself. This module gives
SQLAlchemy's aiosqlite adapter the same small API (`connect`, async cursor and
connection methods) but runs each call inline. A statement blocks the loop for its
own duration only (WAL mode, no fsync per commit), and a transaction no longer
yields to other tasks between its statements.
"""

from __future__ import annotations

import sqlite3
import sys
from sqlite3 import (  # noqa: F401  (the DBAPI error names SQLAlchemy looks up here)
    DatabaseError,
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    sqlite_version,
    sqlite_version_info,
)
from types import SimpleNamespace
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi, SQLiteDialect_aiosqlite


class Cursor:
    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor

    async def __aenter__(self) -> "Cursor":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> "Cursor":
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Any) -> "Cursor":
        self._cursor.executemany(sql, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorOpener:
    """What `connection.cursor()` returns: entered with `async with`, as aiosqlite's is."""

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    async def __aenter__(self) -> Cursor:
        return Cursor(self._connection.cursor())

    async def __aexit__(self, *exc: object) -> None:
        return None


class _RunNow:
    """Stands in for aiosqlite's request queue: runs the function at once."""

    def put_nowait(self, item: tuple[Any, Any]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to the awaiting caller
            future.set_exception(exc)


class Connection:
    def __init__(self, database: str, **kwargs: Any):
        kwargs.setdefault("check_same_thread", False)
        self._conn: sqlite3.Connection | None = sqlite3.connect(database, **kwargs)
        self._tx = _RunNow()
        self._thread = SimpleNamespace(daemon=True)

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._ready().__await__()

    async def _ready(self) -> "Connection":
        return self

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level if self._conn else None

    def cursor(self) -> _CursorOpener:
        assert self._conn is not None, "connection closed"
        return _CursorOpener(self._conn)

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        assert self._conn is not None, "connection closed"
        return Cursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        if self._conn is not None:
            self._conn.commit()

    async def rollback(self) -> None:
        if self._conn is not None:
            self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        assert self._conn is not None, "connection closed"
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def connect(database: str, **kwargs: Any) -> Connection:
    return Connection(database, **kwargs)


class InlineSQLiteDialect(SQLiteDialect_aiosqlite):
    """`sqlite+novalite://`: the aiosqlite dialect with this module as its driver."""

    driver = "novalite"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return AsyncAdapt_aiosqlite_dbapi(sys.modules[__name__], sqlite3)
