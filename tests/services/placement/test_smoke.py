from tests.services.placement.conftest import v


async def test_version_document(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert r.json()["versions"][0]["max_version"] == "1.39"


async def test_provider_roundtrip(client):
    r = await client.post("/resource_providers", json={"name": "cn1"}, headers=v("1.39"))
    assert r.status_code == 200, r.text
    rp = r.json()
    r = await client.put(f"/resource_providers/{rp['uuid']}/inventories", headers=v("1.39"), json={
        "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 1024}}})
    assert r.status_code == 200, r.text
    r = await client.get("/allocation_candidates?resources=VCPU:2,MEMORY_MB:512", headers=v("1.39"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["allocation_requests"]) == 1
    r = await client.put("/allocations/11111111-1111-1111-1111-111111111111", headers=v("1.39"), json={
        **body["allocation_requests"][0], "project_id": "p", "user_id": "u",
        "consumer_generation": None, "consumer_type": "INSTANCE"})
    assert r.status_code == 204, r.text
    r = await client.get(f"/resource_providers/{rp['uuid']}/usages", headers=v("1.39"))
    assert r.json()["usages"] == {"VCPU": 2, "MEMORY_MB": 512}
    r = await client.get("/usages?project_id=p", headers=v("1.39"))
    assert r.status_code == 200, r.text
    assert r.json()["usages"]["INSTANCE"]["consumer_count"] == 1
