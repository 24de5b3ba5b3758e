"""Orphan allocation audit, POST /reshaper, and database preparation."""

from __future__ import annotations

import os_traits
from sqlalchemy import func, select

from novalite.services.placement.audit import find_orphan_allocations, heal, holding_consumers
from novalite.services.placement.db_models import ResourceClass, Trait
from novalite.services.placement.service import prepare_placement_database
from tests.services.placement.conftest import v
from tests.services.placement.helpers import LATEST, error, make_rp, new_uuid, put_allocs


async def test_audit_finds_and_heals_orphans(client, sessionmaker):
    rp = await make_rp(client, "cn", inventory={"VCPU": 8})
    live, dead = new_uuid(), new_uuid()
    await put_allocs(client, live, {rp: {"VCPU": 2}})
    await put_allocs(client, dead, {rp: {"VCPU": 3}})
    orphans = await find_orphan_allocations(sessionmaker, {live})
    assert [(o.consumer_uuid, o.allocations) for o in orphans] == [(dead, {rp: {"VCPU": 3}})]
    assert [o.consumer_uuid for o in await heal(sessionmaker, {live}, dry_run=True)] == [dead]
    assert (await client.get(f"/allocations/{dead}", headers=LATEST)).json()["allocations"]
    assert [o.consumer_uuid for o in await heal(sessionmaker, {live})] == [dead]
    assert await find_orphan_allocations(sessionmaker, {live}) == []
    assert (await client.get(f"/allocations/{dead}", headers=LATEST)).json() == {"allocations": {}}
    assert (await client.get(f"/resource_providers/{rp}/usages", headers=LATEST)).json()["usages"] == {"VCPU": 2}
    # the freed capacity is really free again
    assert (await put_allocs(client, new_uuid(), {rp: {"VCPU": 6}})).status_code == 204


async def test_heal_spares_a_consumer_that_claimed_after_the_allocations_were_read(client, sessionmaker):
    rp = await make_rp(client, "cn", inventory={"VCPU": 8})
    dead = new_uuid()
    await put_allocs(client, dead, {rp: {"VCPU": 1}})
    holding = await holding_consumers(sessionmaker)
    late = new_uuid()  # a boot that claims while the audit reads the live servers: not among them yet
    await put_allocs(client, late, {rp: {"VCPU": 2}})
    assert [o.consumer_uuid for o in await heal(sessionmaker, set(), among=holding)] == [dead]
    assert (await client.get(f"/allocations/{late}", headers=LATEST)).json()["allocations"][rp]


async def test_reshaper_moves_inventory_and_allocations_atomically(client):
    root = await make_rp(client, "cn", inventory={"VCPU": 8})
    numa = await make_rp(client, "cn-numa0", parent=root)
    consumer = new_uuid()
    await put_allocs(client, consumer, {root: {"VCPU": 2}})
    root_gen = (await client.get(f"/resource_providers/{root}", headers=LATEST)).json()["generation"]
    body = {
        "inventories": {
            root: {"resource_provider_generation": root_gen, "inventories": {}},
            numa: {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}}},
        "allocations": {consumer: {
            "allocations": {numa: {"resources": {"VCPU": 2}}}, "project_id": "proj", "user_id": "user",
            "consumer_generation": 0, "consumer_type": "INSTANCE"}}}
    assert (await client.post("/reshaper", json=body, headers=v("1.29"))).status_code == 404
    stale = {**body, "inventories": {**body["inventories"],
                                     numa: {"resource_provider_generation": 7, "inventories": {}}}}
    r = await client.post("/reshaper", json=stale, headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"
    assert (await client.get(f"/allocations/{consumer}", headers=LATEST)).json()["allocations"][root]
    missing = new_uuid()
    unknown = {**body, "inventories": {**body["inventories"],
                                       missing: {"resource_provider_generation": 0, "inventories": {}}}}
    r = await client.post("/reshaper", json=unknown, headers=LATEST)
    assert r.status_code == 400 and error(r)["code"] == "placement.resource_provider.not_found"
    assert missing in error(r)["detail"]
    assert (await client.get(f"/allocations/{consumer}", headers=LATEST)).json()["allocations"][root]
    assert (await client.post("/reshaper", json=body, headers=LATEST)).status_code == 204
    assert (await client.get(f"/resource_providers/{root}/inventories", headers=LATEST)).json()["inventories"] == {}
    assert (await client.get(f"/resource_providers/{numa}/usages", headers=LATEST)).json()["usages"] == {"VCPU": 2}
    assert set((await client.get(f"/allocations/{consumer}", headers=LATEST)).json()["allocations"]) == {numa}


async def test_prepare_is_idempotent(engine, sessionmaker):
    await prepare_placement_database(engine)
    async with sessionmaker() as s:
        traits = (await s.execute(select(func.count()).select_from(Trait))).scalar_one()
        classes = (await s.execute(select(func.count()).select_from(ResourceClass))).scalar_one()
    assert traits == len(os_traits.get_traits())
    assert classes >= 20
