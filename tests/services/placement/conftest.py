"""Fixtures: a migrated placement database on SQLite and on PostgreSQL, and an HTTP client."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from novalite.auth import NoAuthAuthenticator
from novalite.db.engine import make_engine, session_factory
from novalite.services.placement.app import build_placement_app
from novalite.services.placement.service import prepare_placement_database
from tests.support.databases import ENGINES
from tests.support.services import temporary_pg_database

ADMIN = {"x-auth-token": "admin:admin"}


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[AsyncEngine]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        eng = make_engine(f"sqlite+aiosqlite:///{tmp_path}/placement.db")
        await prepare_placement_database(eng)
        yield eng
        await eng.dispose()
        return
    async with temporary_pg_database("novalite_placement") as url:
        eng = make_engine(url)
        await prepare_placement_database(eng)
        yield eng
        await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def client(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    app = build_placement_app(sessionmaker, NoAuthAuthenticator())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://placement", headers=ADMIN) as c:
        yield c


def v(version: str) -> dict[str, str]:
    """Headers asking for one microversion."""
    return {"openstack-api-version": f"placement {version}"}
