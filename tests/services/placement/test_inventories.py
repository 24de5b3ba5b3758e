"""Inventories: whole set and per class, generations, in-use protection, validation."""

from __future__ import annotations

from tests.services.placement.conftest import v
from tests.services.placement.helpers import LATEST, error, make_rp, new_uuid, put_allocs


async def test_put_get_with_defaults_and_generation(client):
    rp = await make_rp(client, "cn")
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST, json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 8, "allocation_ratio": 4.0}, "DISK_GB": {"total": 100, "reserved": 10}}})
    assert r.status_code == 200
    assert r.json()["resource_provider_generation"] == 1
    body = (await client.get(f"/resource_providers/{rp}/inventories", headers=LATEST)).json()
    assert body["inventories"]["VCPU"] == {"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 2147483647,
                                           "step_size": 1, "allocation_ratio": 4.0}
    one = (await client.get(f"/resource_providers/{rp}/inventories/DISK_GB", headers=LATEST)).json()
    assert one["reserved"] == 10 and one["resource_provider_generation"] == 1
    r = await client.get(f"/resource_providers/{rp}/inventories/MEMORY_MB", headers=LATEST)
    assert r.status_code == 404


async def test_stale_generation_is_concurrent_update(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 4})
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST, json={
        "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}})
    assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"
    r = await client.put(f"/resource_providers/{rp}/inventories/VCPU", headers=LATEST, json={
        "resource_provider_generation": 0, "total": 8})
    assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"


async def test_removing_inventory_in_use_is_refused(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 4, "MEMORY_MB": 1024})
    assert (await put_allocs(client, new_uuid(), {rp: {"VCPU": 1}})).status_code == 204
    gen = (await client.get(f"/resource_providers/{rp}", headers=LATEST)).json()["generation"]
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST, json={
        "resource_provider_generation": gen, "inventories": {"MEMORY_MB": {"total": 1024}}})
    assert r.status_code == 409 and error(r)["code"] == "placement.inventory.inuse"
    r = await client.delete(f"/resource_providers/{rp}/inventories/VCPU", headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.inventory.inuse"
    r = await client.delete(f"/resource_providers/{rp}/inventories", headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.inventory.inuse"
    # nothing was half-written
    body = (await client.get(f"/resource_providers/{rp}/inventories", headers=LATEST)).json()
    assert set(body["inventories"]) == {"VCPU", "MEMORY_MB"} and body["resource_provider_generation"] == gen
    assert (await client.delete(f"/resource_providers/{rp}/inventories/MEMORY_MB", headers=LATEST)).status_code == 204


async def test_post_one_class_and_conflict_when_it_exists(client):
    rp = await make_rp(client, "cn")
    r = await client.post(f"/resource_providers/{rp}/inventories", headers=LATEST,
                          json={"resource_class": "VCPU", "total": 4})
    assert r.status_code == 201 and r.json()["resource_provider_generation"] == 1
    assert r.headers["location"].endswith(f"/resource_providers/{rp}/inventories/VCPU")
    r = await client.post(f"/resource_providers/{rp}/inventories", headers=LATEST,
                          json={"resource_class": "VCPU", "total": 4})
    assert r.status_code == 409


async def test_delete_all_needs_1_5(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 4})
    assert (await client.delete(f"/resource_providers/{rp}/inventories", headers=v("1.4"))).status_code == 405
    assert (await client.delete(f"/resource_providers/{rp}/inventories", headers=v("1.5"))).status_code == 204
    body = (await client.get(f"/resource_providers/{rp}/inventories", headers=LATEST)).json()
    assert body["inventories"] == {}


async def test_reserved_equal_to_total_allowed_from_1_26(client):
    rp = await make_rp(client, "cn")
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4, "reserved": 4}}}
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=v("1.25"), json=body)
    assert r.status_code == 400
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=v("1.26"), json=body)
    assert r.status_code == 200
    body = {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 4, "reserved": 5}}}
    assert (await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST, json=body)).status_code == 400


async def test_invalid_inventories_are_400(client):
    rp = await make_rp(client, "cn")
    for inv in ({"total": 0}, {"total": -1}, {"total": "4"}, {"total": 4, "step_size": 0},
                {"total": 4, "allocation_ratio": 0}, {"total": 4, "bogus": 1}, {}):
        r = await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST, json={
            "resource_provider_generation": 0, "inventories": {"VCPU": inv}})
        assert r.status_code == 400, inv
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST, json={
        "resource_provider_generation": 0, "inventories": {"CUSTOM_UNKNOWN": {"total": 1}}})
    assert r.status_code == 400 and "Unknown resource class" in error(r)["detail"]
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST, json={"inventories": {}})
    assert r.status_code == 400
    r = await client.put(f"/resource_providers/{new_uuid()}/inventories", headers=LATEST, json={
        "resource_provider_generation": 0, "inventories": {}})
    assert r.status_code == 404
