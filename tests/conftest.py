"""Fixtures shared by the whole suite: settings on a temporary data dir, a running cloud, a client.

Every test that starts a cloud runs twice, on SQLite (`[sqlite]`) and on PostgreSQL
(`[postgresql]`), through `database_urls`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import httpx
import pytest

from novalite.bootstrap import ALL_ROLES, Cloud
from novalite.config import Settings
from tests.support.databases import ENGINES, PgTemplates
from tests.support.services import require_postgres


STOP_TIMEOUT = 120.0


def make_settings(data_dir: Path, databases: dict[str, Any] | None = None, **sections: dict[str, Any]) -> Settings:
    """Settings for tests: a private data dir, three fake hosts, fast periodic tasks.

    `databases` are [database] options (see `database_urls`); none means SQLite files in `data_dir`.
    """
    base: dict[str, dict[str, Any]] = {
        "service": {"data_dir": data_dir},
        "database": dict(databases or {}),
        "compute": {"fake_host_count": 3, "heartbeat_interval": 1.0, "resource_report_interval": 5.0},
        "bus": {"call_timeout": 30.0},
        # The suite speaks noauth2 tokens and boots made-up image names; identity and image
        # tests turn these on for themselves.
        "api": {"auth_strategy": "noauth2"},
        "image": {"enabled": False},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return Settings(**base)


@pytest.fixture(params=ENGINES)
def db_engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def pg_templates() -> Iterator[PgTemplates]:
    """Migrated template databases, made once per session, the first time a test needs PostgreSQL."""
    require_postgres()
    templates = PgTemplates()
    templates.create()
    yield templates
    templates.drop()


@pytest.fixture
def database_urls(db_engine: str, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The [database] options of this test's clouds: none (SQLite files) or fresh PostgreSQL databases.

    With CI=true a missing PostgreSQL fails the `[postgresql]` variant instead of skipping it.
    """
    if db_engine == "sqlite":
        yield {}
        return
    require_postgres()
    templates: PgTemplates = request.getfixturevalue("pg_templates")
    with templates.databases() as options:
        yield options


@pytest.fixture
def settings_factory(tmp_path: Path, database_urls: dict[str, Any]) -> Callable[..., Settings]:
    return lambda **sections: make_settings(tmp_path, database_urls, **sections)


@pytest.fixture
async def cloud_factory(database_urls: dict[str, Any]) -> AsyncIterator[Callable[..., Any]]:
    # Asking for database_urls orders the teardowns: clouds stop before their databases are dropped.
    started: list[Cloud] = []

    async def _start(settings: Settings, roles: set[str] | None = None, all_in_one: bool = True) -> Cloud:
        cloud = Cloud(settings=settings, roles=roles or set(ALL_ROLES), all_in_one=all_in_one)
        await cloud.start()
        started.append(cloud)
        return cloud

    yield _start
    stuck = []
    for cloud in reversed(started):
        try:
            # A cloud that cannot stop is a failure to report, not a run that hangs until CI kills it.
            await asyncio.wait_for(cloud.stop(), timeout=STOP_TIMEOUT)
        except asyncio.TimeoutError:
            stuck.append(sorted(cloud.roles))
    assert not stuck, f"clouds with roles {stuck} did not stop within {STOP_TIMEOUT}s"


@pytest.fixture
async def cloud(cloud_factory: Callable[..., Any], settings_factory: Callable[..., Settings]) -> Cloud:
    cloud = await cloud_factory(settings_factory())
    await cloud.wait_background()
    return cloud


def client_for(cloud: Cloud, token: str = "admin:admin", version: str = "2.100") -> httpx.AsyncClient:
    headers = {"X-Auth-Token": token}
    if version:
        headers["OpenStack-API-Version"] = f"compute {version}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=cloud.app), base_url="http://novalite",
                             headers=headers, timeout=60)


@pytest.fixture
async def client(cloud: Cloud) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(cloud) as c:
        yield c
