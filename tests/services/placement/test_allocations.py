"""Allocations: every body format by version, consumer generations and types, atomic bulk writes."""

from __future__ import annotations

from tests.services.placement.conftest import v
from tests.services.placement.helpers import LATEST, error, make_rp, new_uuid, put_allocs


async def test_legacy_list_format_and_project_required_from_1_8(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 4})
    consumer = new_uuid()
    body = {"allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]}
    assert (await client.put(f"/allocations/{consumer}", json=body, headers=v("1.0"))).status_code == 204
    assert (await client.put(f"/allocations/{consumer}", json=body, headers=v("1.8"))).status_code == 400
    body |= {"project_id": "p", "user_id": "u"}
    assert (await client.put(f"/allocations/{consumer}", json=body, headers=v("1.8"))).status_code == 204
    got = (await client.get(f"/allocations/{consumer}", headers=v("1.11"))).json()
    assert got == {"allocations": {rp: {"generation": 3, "resources": {"VCPU": 1}}}}
    got = (await client.get(f"/allocations/{consumer}", headers=v("1.12"))).json()
    assert (got["project_id"], got["user_id"]) == ("p", "u")
    assert "consumer_generation" not in got


async def test_dict_format_consumer_generation_and_type(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 8, "MEMORY_MB": 4096})
    consumer = new_uuid()
    assert (await put_allocs(client, consumer, {rp: {"VCPU": 2}})).status_code == 204
    got = (await client.get(f"/allocations/{consumer}", headers=LATEST)).json()
    assert got["consumer_generation"] == 0 and got["consumer_type"] == "INSTANCE"
    r = await put_allocs(client, consumer, {rp: {"VCPU": 3}}, generation=None)
    assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"
    r = await put_allocs(client, consumer, {rp: {"VCPU": 3}}, generation=5)
    assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"
    r = await put_allocs(client, consumer, {rp: {"VCPU": 3, "MEMORY_MB": 512}}, generation=0, ctype="MIGRATION")
    assert r.status_code == 204
    got = (await client.get(f"/allocations/{consumer}", headers=LATEST)).json()
    assert got["allocations"][rp]["resources"] == {"VCPU": 3, "MEMORY_MB": 512}
    assert (got["consumer_generation"], got["consumer_type"]) == (1, "MIGRATION")
    usages = (await client.get(f"/resource_providers/{rp}/usages", headers=LATEST)).json()["usages"]
    assert usages == {"VCPU": 3, "MEMORY_MB": 512}


async def test_version_specific_keys(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 8})
    base = {"allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u"}
    consumer = new_uuid()
    assert (await client.put(f"/allocations/{consumer}", json=base, headers=v("1.27"))).status_code == 204
    r = await client.put(f"/allocations/{new_uuid()}", json=base | {"consumer_generation": None}, headers=v("1.27"))
    assert r.status_code == 400
    assert (await client.put(f"/allocations/{new_uuid()}", json=base, headers=v("1.28"))).status_code == 400
    r = await client.put(f"/allocations/{new_uuid()}", json=base | {"consumer_generation": None}, headers=v("1.37"))
    assert r.status_code == 204
    r = await client.put(f"/allocations/{new_uuid()}", json=base | {"consumer_generation": None}, headers=v("1.38"))
    assert r.status_code == 400 and "consumer_type" in error(r)["detail"]
    r = await client.put(f"/allocations/{new_uuid()}", headers=v("1.33"),
                         json=base | {"consumer_generation": None, "mappings": {"": [rp]}})
    assert r.status_code == 400
    r = await client.put(f"/allocations/{new_uuid()}", headers=v("1.34"),
                         json=base | {"consumer_generation": None, "mappings": {"": [rp]}})
    assert r.status_code == 204


async def test_capacity_units_and_missing_inventory(client):
    rp = await make_rp(client, "cn", inventory={
        "VCPU": {"total": 4, "allocation_ratio": 2.0, "max_unit": 4},
        "DISK_GB": {"total": 100, "reserved": 50, "step_size": 10}})
    assert (await put_allocs(client, new_uuid(), {rp: {"VCPU": 4}})).status_code == 204
    assert (await put_allocs(client, new_uuid(), {rp: {"VCPU": 4}})).status_code == 204
    r = await put_allocs(client, new_uuid(), {rp: {"VCPU": 1}})
    assert r.status_code == 409 and "exceed the capacity" in error(r)["detail"]
    assert error(r)["code"] == "placement.undefined_code"
    assert (await put_allocs(client, new_uuid(), {rp: {"DISK_GB": 15}})).status_code == 409
    assert (await put_allocs(client, new_uuid(), {rp: {"DISK_GB": 60}})).status_code == 409
    assert (await put_allocs(client, new_uuid(), {rp: {"DISK_GB": 50}})).status_code == 204
    assert (await put_allocs(client, new_uuid(), {rp: {"MEMORY_MB": 1}})).status_code == 409
    assert (await put_allocs(client, new_uuid(), {new_uuid(): {"VCPU": 1}})).status_code == 400
    assert (await put_allocs(client, new_uuid(), {rp: {"CUSTOM_NOPE": 1}})).status_code == 400
    assert (await put_allocs(client, new_uuid(), {rp: {"VCPU": 0}})).status_code == 400
    assert (await put_allocs(client, "not-a-uuid", {rp: {"VCPU": 1}})).status_code == 400
    usages = (await client.get(f"/resource_providers/{rp}/usages", headers=LATEST)).json()["usages"]
    assert usages == {"VCPU": 8, "DISK_GB": 50}


async def test_empty_allocations_delete_the_consumer_from_1_28(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 4})
    consumer = new_uuid()
    await put_allocs(client, consumer, {rp: {"VCPU": 1}})
    assert (await put_allocs(client, consumer, {}, generation=0)).status_code == 204
    assert (await client.get(f"/allocations/{consumer}", headers=LATEST)).json() == {"allocations": {}}
    r = await client.put(f"/allocations/{consumer}", headers=v("1.27"),
                         json={"allocations": {}, "project_id": "p", "user_id": "u"})
    assert r.status_code == 400


async def test_delete_and_provider_allocations(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 4})
    c1, c2 = new_uuid(), new_uuid()
    await put_allocs(client, c1, {rp: {"VCPU": 1}})
    await put_allocs(client, c2, {rp: {"VCPU": 2}})
    body = (await client.get(f"/resource_providers/{rp}/allocations", headers=LATEST)).json()
    assert body["allocations"] == {c1: {"resources": {"VCPU": 1}}, c2: {"resources": {"VCPU": 2}}}
    assert body["resource_provider_generation"] == 3
    assert (await client.delete(f"/allocations/{c1}", headers=LATEST)).status_code == 204
    r = await client.delete(f"/allocations/{c1}", headers=LATEST)
    assert r.status_code == 404
    assert (await client.get(f"/resource_providers/{rp}/usages", headers=LATEST)).json()["usages"] == {"VCPU": 2}
    assert (await client.get(f"/resource_providers/{new_uuid()}/allocations", headers=LATEST)).status_code == 404


async def test_post_allocations_is_atomic(client):
    a = await make_rp(client, "a", inventory={"VCPU": 4})
    b = await make_rp(client, "b", inventory={"VCPU": 4})
    mover, other = new_uuid(), new_uuid()
    await put_allocs(client, mover, {a: {"VCPU": 2}})
    entry = lambda rp, n, gen: {  # noqa: E731
        "allocations": {rp: {"resources": {"VCPU": n}}}, "project_id": "p", "user_id": "u",
        "consumer_generation": gen, "consumer_type": "INSTANCE"}
    # the second consumer asks for too much: nothing at all is written
    r = await client.post("/allocations", headers=LATEST,
                          json={mover: entry(b, 2, 0), other: entry(b, 3, None)})
    assert r.status_code == 409
    assert (await client.get(f"/allocations/{mover}", headers=LATEST)).json()["allocations"][a]["resources"] == {"VCPU": 2}
    assert (await client.get(f"/allocations/{other}", headers=LATEST)).json() == {"allocations": {}}
    r = await client.post("/allocations", headers=LATEST, json={mover: entry(b, 2, 0), other: entry(a, 3, None)})
    assert r.status_code == 204, r.text
    assert set((await client.get(f"/allocations/{mover}", headers=LATEST)).json()["allocations"]) == {b}
    assert (await client.get(f"/resource_providers/{a}/usages", headers=LATEST)).json()["usages"] == {"VCPU": 3}
    assert (await client.post("/allocations", headers=v("1.12"), json={})).status_code == 405
    assert (await client.post("/allocations", headers=LATEST, json={"bad": entry(a, 1, None)})).status_code == 400


async def test_usages_by_project_and_consumer_type(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 16, "MEMORY_MB": 8192})
    await put_allocs(client, new_uuid(), {rp: {"VCPU": 2, "MEMORY_MB": 512}}, project="p1", user="u1")
    await put_allocs(client, new_uuid(), {rp: {"VCPU": 1}}, project="p1", user="u2", ctype="MIGRATION")
    await put_allocs(client, new_uuid(), {rp: {"VCPU": 4}}, project="p2", user="u1")
    r = await client.get("/usages?project_id=p1", headers=v("1.9"))
    assert r.json() == {"usages": {"VCPU": 3, "MEMORY_MB": 512}}
    r = await client.get("/usages?project_id=p1&user_id=u1", headers=v("1.9"))
    assert r.json() == {"usages": {"VCPU": 2, "MEMORY_MB": 512}}
    r = await client.get("/usages?project_id=p1", headers=LATEST)
    assert r.json()["usages"] == {"INSTANCE": {"consumer_count": 1, "VCPU": 2, "MEMORY_MB": 512},
                                  "MIGRATION": {"consumer_count": 1, "VCPU": 1}}
    r = await client.get("/usages?project_id=p1&consumer_type=all", headers=LATEST)
    assert r.json()["usages"] == {"all": {"consumer_count": 2, "VCPU": 3, "MEMORY_MB": 512}}
    r = await client.get("/usages?project_id=p1&consumer_type=MIGRATION", headers=LATEST)
    assert r.json()["usages"] == {"MIGRATION": {"consumer_count": 1, "VCPU": 1}}
    assert (await client.get("/usages", headers=LATEST)).status_code == 400
    assert (await client.get("/usages?project_id=p1&consumer_type=X", headers=v("1.37"))).status_code == 400
    assert (await client.get("/usages?project_id=p1", headers=v("1.8"))).status_code == 404


async def test_new_consumer_claim_conflicts_with_an_existing_consumer(client):
    rp = await make_rp(client, "cn", inventory={"VCPU": 4})
    consumer = new_uuid()
    assert (await put_allocs(client, consumer, {rp: {"VCPU": 1}})).status_code == 204
    for allocations in ({rp: {"VCPU": 2}}, {}):
        r = await put_allocs(client, consumer, allocations, generation=None)
        assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"
    assert (await client.get(f"/allocations/{consumer}", headers=LATEST)).json()["allocations"][rp]["resources"] == {"VCPU": 1}
