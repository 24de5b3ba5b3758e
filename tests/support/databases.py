"""A cloud's four databases on either engine the suite runs on: SQLite files or PostgreSQL.

On SQLite a cloud keeps its files under its data dir, so a test needs nothing. On
PostgreSQL every test gets its own four databases (API, placement, cell0, cell1), made
with `CREATE DATABASE ... TEMPLATE` from databases migrated once per session: copying
a few megabytes is much cheaper than running every migration for every test, and the
cloud's own start-up still runs its migrations and finds nothing to do.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Coroutine, Iterator, TypeVar

import pytest

from novalite.db.engine import make_engine, session_factory
from novalite.db.migrate import DbKind, upgrade
from tests.support.services import pg_admin, pg_url

T = TypeVar("T")

# The engines a database test runs on; the ids are the test ids' suffixes.
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

# Each database of a cloud: its [database] option and the schema it holds.
ROLES: dict[str, tuple[str, DbKind]] = {
    "api": ("api_url", "api"),
    "placement": ("placement_url", "placement"),
    "cell0": ("cell0_url", "cell"),
    "cell1": ("cell1_url", "cell"),
}

# Each test's cloud has four engines, and several tests' clouds may run beside other
# suites on a PostgreSQL of 100 connections: one pooled connection per engine (three at a
# peak). Code that works on SQLite's single connection never needs more than one at once.
POOL_SIZE = 1


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a synchronous fixture, on a loop of its own in a thread of its own,
    so that it never meets the loop pytest-asyncio keeps for the test."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _migrate(url: str, kind: DbKind) -> None:
    from novalite.flavors_seed import seed_flavors
    from novalite.services.placement.service import prepare_placement_database

    engine = make_engine(url, POOL_SIZE)
    try:
        if kind == "placement":
            await prepare_placement_database(engine)
        else:
            await upgrade(engine, kind)
        if kind == "api":
            await seed_flavors(session_factory(engine))
    finally:
        await engine.dispose()  # a template must have no connections when it is copied


class Dropper:
    """Drops databases on a thread of its own, so that no test waits for it.

    PostgreSQL 15 checkpoints for every DROP DATABASE: milliseconds on a quiet server,
    seconds when other suites keep it busy. Drops that run at once share one checkpoint,
    so everything waiting is dropped together. A few tests' databases may wait their
    turn; more than that and the next test waits, so a slow server never fills the disk.
    """

    def __init__(self, backlog: int = 4, connections: int = 8):
        self._queue: queue.Queue[list[str]] = queue.Queue(maxsize=backlog)
        self._connections = connections
        self._failures: list[str] = []
        threading.Thread(target=self._run, name="pg-dropper", daemon=True).start()

    def drop(self, names: list[str]) -> None:
        self._queue.put(names)

    def wait(self) -> None:
        """Return once every database handed over is gone; raise if any could not be dropped."""
        self._queue.join()
        if self._failures:
            raise RuntimeError(f"test databases left behind: {self._failures}")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        while True:
            batches = [self._queue.get()]
            while not self._queue.empty():
                batches.append(self._queue.get_nowait())
            try:
                loop.run_until_complete(self._drop_together([name for names in batches for name in names]))
            finally:
                for _ in batches:
                    self._queue.task_done()

    async def _drop_together(self, names: list[str]) -> None:
        slots = asyncio.Semaphore(self._connections)

        async def drop(name: str) -> None:
            async with slots:
                try:
                    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception as exc:  # reported by wait(), at the end of the session
                    self._failures.append(f"{name}: {exc!r}")

        await asyncio.gather(*(drop(name) for name in names))


class PgTemplates:
    """One migrated template database per schema kind, unique to this test session."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.names: dict[DbKind, str] = {kind: f"novalite_tpl_{self.tag}_{kind}"
                                         for kind in ("api", "cell", "placement")}
        self._dropper = Dropper()

    def create(self) -> None:
        async def _create() -> None:
            await pg_admin(*(f'CREATE DATABASE "{name}"' for name in self.names.values()))
            for kind, name in self.names.items():  # one at a time: Alembic's context is process-global
                await _migrate(pg_url(name), kind)

        try:
            run_sync(_create())
        except BaseException:
            self.drop()
            raise

    def drop(self) -> None:
        try:
            self._dropper.wait()
        finally:
            run_sync(pg_admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.names.values())))

    @contextmanager
    def databases(self) -> Iterator[dict[str, Any]]:
        """A cloud's fresh databases, as [database] options; dropped afterwards whatever happened."""
        tag = uuid.uuid4().hex[:12]
        names = {role: f"novalite_t_{tag}_{role}" for role in ROLES}
        try:
            run_sync(pg_admin(*(f'CREATE DATABASE "{names[role]}" TEMPLATE "{self.names[kind]}"'
                              for role, (_, kind) in ROLES.items())))
            options: dict[str, Any] = {option: pg_url(names[role]) for role, (option, _) in ROLES.items()}
            yield {**options, "pool_size": POOL_SIZE}
        finally:
            self._dropper.drop(list(names.values()))


def database_env(options: dict[str, Any]) -> dict[str, str]:
    """The same [database] options as environment variables, for a novalite process or CLI."""
    return {f"NOVALITE_DATABASE__{option.upper()}": str(value) for option, value in options.items()}
