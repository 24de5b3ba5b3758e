"""Race-free claims, with real concurrent transactions on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from novalite.auth import NoAuthAuthenticator
from novalite.context import RequestContext
from novalite.db.engine import make_engine, session_factory
from novalite.services.placement.app import build_placement_app
from novalite.services.placement.local_client import LocalPlacementClient
from novalite.services.placement.service import prepare_placement_database
from tests.services.placement.conftest import ADMIN
from tests.services.placement.helpers import LATEST, error, make_rp, new_uuid, put_allocs
from tests.support.services import temporary_pg_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_engine() -> AsyncIterator:  # type: ignore[type-arg]
    async with temporary_pg_database("novalite_placement_race") as url:
        engine = make_engine(url, pool_size=10)
        await prepare_placement_database(engine)
        yield engine
        await engine.dispose()


@pytest.fixture
async def pg_client(pg_engine) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = build_placement_app(session_factory(pg_engine), NoAuthAuthenticator())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://placement",
                                 headers=ADMIN) as client:
        yield client


async def _waiting_on_locks(engine, at_least: int) -> None:  # type: ignore[no-untyped-def]
    """Until `at_least` backends of this database wait for a row lock."""
    while True:
        async with engine.connect() as conn:
            waiting = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))).scalar_one()
        if waiting >= at_least:
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("known_project", [False, True], ids=["new-project", "known-project"])
async def test_two_claims_racing_for_the_last_unit(pg_engine, pg_client, known_project):
    rp = await make_rp(pg_client, "cn", inventory={"VCPU": 1})
    if known_project:
        # a claim whose project, user and type exist already takes the one-round-trip path
        other = await make_rp(pg_client, "other", inventory={"VCPU": 1})
        assert (await put_allocs(pg_client, new_uuid(), {other: {"VCPU": 1}})).status_code == 204
    # hold the provider row so both claims read the same generation and then queue on it
    async with pg_engine.connect() as holder:
        await holder.execute(text("BEGIN"))
        await holder.execute(text("SELECT generation FROM resource_providers WHERE uuid = :u FOR UPDATE"),
                             {"u": rp})
        claims = [asyncio.create_task(put_allocs(pg_client, new_uuid(), {rp: {"VCPU": 1}})) for _ in range(2)]
        await asyncio.wait_for(_waiting_on_locks(pg_engine, 2), timeout=30)
        await holder.execute(text("ROLLBACK"))
    results = await asyncio.gather(*claims)
    assert sorted(r.status_code for r in results) == [204, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert error(loser)["code"] == "placement.concurrent_update"
    usages = (await pg_client.get(f"/resource_providers/{rp}/usages", headers=LATEST)).json()["usages"]
    assert usages == {"VCPU": 1}


async def test_many_concurrent_claims_never_exceed_capacity(pg_engine, pg_client):
    rp = await make_rp(pg_client, "cn", inventory={"VCPU": {"total": 5, "allocation_ratio": 2.0}})

    async def claim_until_done() -> int:
        """Retry on concurrent_update like a scheduler; stop when capacity says no."""
        while True:
            r = await put_allocs(pg_client, new_uuid(), {rp: {"VCPU": 1}})
            if r.status_code == 204:
                return 1
            assert r.status_code == 409, r.text
            if error(r)["code"] != "placement.concurrent_update":
                return 0

    won = sum(await asyncio.gather(*(claim_until_done() for _ in range(20))))
    assert won == 10
    body = (await pg_client.get(f"/resource_providers/{rp}/allocations", headers=LATEST)).json()
    assert len(body["allocations"]) == 10
    usages = (await pg_client.get(f"/resource_providers/{rp}/usages", headers=LATEST)).json()["usages"]
    assert usages == {"VCPU": 10}
    async with pg_engine.connect() as conn:
        used = (await conn.execute(text("SELECT used FROM inventories"))).scalar_one()
    assert used == 10


async def test_concurrent_inventory_updates_retry_and_settle(pg_engine):
    client = LocalPlacementClient(session_factory(pg_engine))
    ctx = RequestContext.admin()
    rp = new_uuid()
    await client.ensure_resource_provider(ctx, rp, "cn")
    totals = list(range(1, 9))
    await asyncio.gather(*(client.set_inventory(ctx, rp, {"VCPU": {"total": t}}) for t in totals))
    await asyncio.gather(*(client.set_traits(ctx, rp, [f"CUSTOM_T{t}"]) for t in totals))
    body = await client.get_resource_provider(ctx, rp)
    # every writer won once: each bumped the generation exactly once
    assert body["generation"] == 16
