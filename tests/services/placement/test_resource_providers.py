"""/resource_providers: CRUD, trees, re-parenting, filters, microversion differences."""

from __future__ import annotations

from tests.services.placement.conftest import v
from tests.services.placement.helpers import LATEST, error, make_rp, new_uuid, put_allocs


async def test_create_before_1_20_is_201_with_location_and_no_body(client):
    rp = new_uuid()
    r = await client.post("/resource_providers", json={"name": "a", "uuid": rp}, headers=v("1.19"))
    assert r.status_code == 201 and r.content == b""
    assert r.headers["location"].endswith(f"/resource_providers/{rp}")
    r = await client.post("/resource_providers", json={"name": "b"}, headers=v("1.20"))
    assert r.status_code == 200 and r.json()["generation"] == 0


async def test_get_shapes_by_version(client):
    rp = await make_rp(client, "cn1")
    body = (await client.get(f"/resource_providers/{rp}", headers=v("1.0"))).json()
    assert set(body) == {"uuid", "name", "generation", "links"}
    assert {link["rel"] for link in body["links"]} == {"self", "inventories", "usages"}
    body = (await client.get(f"/resource_providers/{rp}", headers=v("1.14"))).json()
    assert body["root_provider_uuid"] == rp and body["parent_provider_uuid"] is None
    rels = {link["rel"] for link in (await client.get(f"/resource_providers/{rp}", headers=LATEST)).json()["links"]}
    assert rels == {"self", "inventories", "usages", "aggregates", "traits", "allocations"}


async def test_duplicate_name_and_uuid_conflict(client):
    rp = await make_rp(client, "dup")
    r = await client.post("/resource_providers", json={"name": "dup"}, headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.duplicate_name"
    r = await client.post("/resource_providers", json={"name": "other", "uuid": rp}, headers=LATEST)
    assert r.status_code == 409


async def test_bad_bodies_are_400(client):
    for body in ({}, {"name": ""}, {"name": "x" * 201}, {"name": "x", "uuid": "nope"},
                 {"name": "x", "extra": 1}, {"name": 5}):
        r = await client.post("/resource_providers", json=body, headers=LATEST)
        assert r.status_code == 400, body
        assert "JSON does not validate" in error(r)["detail"]
    r = await client.post("/resource_providers", json={"name": "x", "parent_provider_uuid": new_uuid()},
                          headers=v("1.13"))
    assert r.status_code == 400


async def test_tree_create_and_parent_must_exist(client):
    root = await make_rp(client, "root")
    child = await make_rp(client, "child", parent=root)
    grandchild = await make_rp(client, "grandchild", parent=child)
    body = (await client.get(f"/resource_providers/{grandchild}", headers=LATEST)).json()
    assert (body["parent_provider_uuid"], body["root_provider_uuid"]) == (child, root)
    r = await client.post("/resource_providers", json={"name": "orphan", "parent_provider_uuid": new_uuid()},
                          headers=LATEST)
    assert r.status_code == 400
    r = await client.delete(f"/resource_providers/{root}", headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.resource_provider.cannot_delete_parent"


async def test_reparenting_only_from_1_37_and_never_into_a_loop(client):
    a = await make_rp(client, "a")
    b = await make_rp(client, "b")
    child = await make_rp(client, "child", parent=a)
    grandchild = await make_rp(client, "gc", parent=child)
    r = await client.put(f"/resource_providers/{child}", json={"name": "child", "parent_provider_uuid": b},
                         headers=v("1.36"))
    assert r.status_code == 400
    r = await client.put(f"/resource_providers/{child}", json={"name": "child", "parent_provider_uuid": b},
                         headers=v("1.37"))
    assert r.status_code == 200 and r.json()["root_provider_uuid"] == b
    gc = (await client.get(f"/resource_providers/{grandchild}", headers=LATEST)).json()
    assert gc["root_provider_uuid"] == b
    r = await client.put(f"/resource_providers/{b}", json={"name": "b", "parent_provider_uuid": grandchild},
                         headers=LATEST)
    assert r.status_code == 400 and "loop" in error(r)["detail"]
    r = await client.put(f"/resource_providers/{child}", json={"name": "child", "parent_provider_uuid": None},
                         headers=LATEST)
    assert r.status_code == 200 and r.json()["root_provider_uuid"] == child
    gc = (await client.get(f"/resource_providers/{grandchild}", headers=LATEST)).json()
    assert gc["root_provider_uuid"] == child


async def test_update_name_keeps_generation_and_checks_duplicates(client):
    rp = await make_rp(client, "one")
    await make_rp(client, "two")
    r = await client.put(f"/resource_providers/{rp}", json={"name": "uno"}, headers=LATEST)
    assert r.status_code == 200 and r.json()["name"] == "uno" and r.json()["generation"] == 0
    r = await client.put(f"/resource_providers/{rp}", json={"name": "two"}, headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.duplicate_name"
    r = await client.put(f"/resource_providers/{new_uuid()}", json={"name": "x"}, headers=LATEST)
    assert r.status_code == 404


async def test_delete_refused_while_allocated(client):
    rp = await make_rp(client, "busy", inventory={"VCPU": 4})
    consumer = new_uuid()
    assert (await put_allocs(client, consumer, {rp: {"VCPU": 1}})).status_code == 204
    r = await client.delete(f"/resource_providers/{rp}", headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.resource_provider.inuse"
    await client.delete(f"/allocations/{consumer}", headers=LATEST)
    assert (await client.delete(f"/resource_providers/{rp}", headers=LATEST)).status_code == 204
    assert (await client.get(f"/resource_providers/{rp}", headers=LATEST)).status_code == 404


async def test_list_filters(client):
    agg1, agg2 = new_uuid(), new_uuid()
    a = await make_rp(client, "a", inventory={"VCPU": 8}, traits=["HW_CPU_X86_AVX2"], aggregates=[agg1])
    b = await make_rp(client, "b", inventory={"VCPU": 2}, traits=["CUSTOM_GOLD"], aggregates=[agg2])
    c = await make_rp(client, "c", parent=a)

    async def names(query: str, version: str = "1.39") -> set[str]:
        r = await client.get(f"/resource_providers?{query}", headers=v(version))
        assert r.status_code == 200, r.text
        return {p["name"] for p in r.json()["resource_providers"]}

    assert await names("") == {"a", "b", "c"}
    assert await names("name=b") == {"b"}
    assert await names(f"uuid={c}") == {"c"}
    assert await names(f"member_of={agg1}") == {"a"}
    assert await names(f"member_of=in:{agg1},{agg2}") == {"a", "b"}
    assert await names(f"member_of=!{agg1}") == {"b", "c"}
    assert await names(f"member_of=!in:{agg1},{agg2}") == {"c"}
    assert await names("resources=VCPU:4") == {"a"}
    assert await names(f"in_tree={c}") == {"a", "c"}
    assert await names("required=HW_CPU_X86_AVX2") == {"a"}
    assert await names("required=!HW_CPU_X86_AVX2") == {"b", "c"}
    assert await names("required=in:HW_CPU_X86_AVX2,CUSTOM_GOLD") == {"a", "b"}
    assert await names("member_of=" + agg1 + "&member_of=" + agg2) == set()
    assert (await client.get(f"/resource_providers?member_of=!{agg1}", headers=v("1.31"))).status_code == 400
    assert (await client.get("/resource_providers?required=!CUSTOM_GOLD", headers=v("1.21"))).status_code == 400
    assert (await client.get("/resource_providers?required=in:CUSTOM_GOLD", headers=v("1.38"))).status_code == 400
    assert (await client.get("/resource_providers?required=CUSTOM_NOPE", headers=LATEST)).status_code == 400
    assert (await client.get("/resource_providers?resources=VCPU:x", headers=LATEST)).status_code == 400
    assert (await client.get("/resource_providers?resources=NOPE:1", headers=LATEST)).status_code == 400
    assert (await client.get("/resource_providers?member_of=bad", headers=LATEST)).status_code == 400
    assert (await client.get("/resource_providers?bogus=1", headers=LATEST)).status_code == 400
    assert (await client.get("/resource_providers?in_tree=x", headers=LATEST)).status_code == 400
    assert (await client.get("/resource_providers?resources=VCPU:1", headers=v("1.3"))).status_code == 400
