"""Compute API shapes, versions, listing and every refusal a client can provoke."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import client_for
from tests.support.compute import SERVERS, boot, wait_status


async def _server_rows(cloud) -> int:
    from sqlalchemy import func, select

    from novalite.db.api_models import BuildRequest, InstanceMapping, RequestSpec

    async with cloud.runtime.api_sessions() as session:
        return sum([await session.scalar(select(func.count()).select_from(t))
                    for t in (BuildRequest, InstanceMapping, RequestSpec)])


async def test_version_documents_need_no_token(cloud):
    async with client_for(cloud, token="", version="") as anon:
        anon.headers.pop("X-Auth-Token")
        root = (await anon.get("/")).json()
        assert [v["id"] for v in root["versions"]] == ["v2.0", "v2.1"]
        assert root["versions"][1]["version"] == "2.100"
        assert (await anon.get("/compute")).json() == root
        v21 = (await anon.get("/compute/v2.1/")).json()["version"]
        assert v21["min_version"] == "2.1" and v21["version"] == "2.100"
        assert (await anon.get(SERVERS)).status_code == 401


async def test_microversion_negotiation_and_headers(cloud, client):
    response = await client.get(SERVERS, headers={"OpenStack-API-Version": "compute 2.53"})
    assert response.headers["OpenStack-API-Version"] == "compute 2.53"
    assert response.headers["X-OpenStack-Nova-API-Version"] == "2.53"
    assert response.headers["x-openstack-request-id"].startswith("req-")
    legacy = await client.get(SERVERS, headers={"OpenStack-API-Version": "", "X-OpenStack-Nova-API-Version": "2.60"})
    assert legacy.headers["X-OpenStack-Nova-API-Version"] == "2.60"
    latest = await client.get(SERVERS, headers={"OpenStack-API-Version": "compute latest"})
    assert latest.headers["OpenStack-API-Version"] == "compute 2.100"
    too_new = await client.get(SERVERS, headers={"OpenStack-API-Version": "compute 2.200"})
    assert too_new.status_code == 406 and "maximum is 2.100" in too_new.json()["notAcceptable"]["message"]
    bad = await client.get(SERVERS, headers={"OpenStack-API-Version": "compute two"})
    assert bad.status_code == 400 and "invalid format" in bad.json()["badRequest"]["message"]


@pytest.mark.parametrize("body,needle", [
    (b"{not json", "Malformed request body"),
    (b"[]", "must be a JSON object"),
    (b'{"server": {"name": "x", "imageRef": "i", "flavorRef": "1", "networks": "none", "bogus": 1}}',
     "'bogus' was unexpected"),
    (b'{"server": {"imageRef": "i", "flavorRef": "1", "networks": "none"}}', "'name' is a required property"),
    (b'{"server": {"name": "x", "imageRef": "i", "flavorRef": "404", "networks": "none"}}',
     "Flavor 404 could not be found"),
    (b'{"server": {"name": "x", "imageRef": "i", "flavorRef": "1"}}', "'networks' is a required property"),
    (b'{"server": {"name": "x", "imageRef": "i", "flavorRef": "1", "networks": [{"uuid": "nope"}]}}',
     "is not a UUID"),
    (b'{"server": {"name": "", "imageRef": "i", "flavorRef": "1", "networks": "none"}}', "name"),
    (b'{"server": {"name": "x", "imageRef": "i", "flavorRef": "1", "networks": "none", "min_count": 0}}',
     "min_count"),
    (b'{"server": {"name": "x", "imageRef": "i", "flavorRef": "1", "networks": "none", "user_data": "%%%"}}',
     "base64"),
    (b'{"server": {"name": "x", "imageRef": "i", "flavorRef": "1", "networks": "none",'
     b' "availability_zone": "mars"}}', "availability zone 'mars'"),
    (b'{"server": {"name": "x", "imageRef": "", "flavorRef": "1", "networks": "none"}}', "imageRef"),
])
async def test_bad_create_bodies_are_400_and_write_nothing(cloud, client, body, needle):
    before = await _server_rows(cloud)
    response = await client.post(SERVERS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert needle in response.json()["badRequest"]["message"]
    assert response.json()["badRequest"]["code"] == 400
    assert await _server_rows(cloud) == before


async def test_fields_from_later_microversions_are_refused_earlier(cloud, client):
    body = {"server": {"name": "x", "imageRef": "i", "flavorRef": "1", "networks": "none", "hostname": "h"}}
    old = await client.post(SERVERS, json=body, headers={"OpenStack-API-Version": "compute 2.89"})
    assert old.status_code == 400 and "hostname" in old.json()["badRequest"]["message"]
    new = await client.post(SERVERS, json=body)
    assert new.status_code == 202


async def test_unknown_and_malformed_server_ids_are_404(client):
    for path in (f"{SERVERS}/not-a-uuid", f"{SERVERS}/00000000-0000-0000-0000-000000000001"):
        response = await client.get(path)
        assert response.status_code == 404
        assert "could not be found" in response.json()["itemNotFound"]["message"]
    assert (await client.delete(f"{SERVERS}/00000000-0000-0000-0000-000000000001")).status_code == 404


async def test_limits_and_unknown_query_parameters(client):
    assert (await client.get(SERVERS, params={"limit": "-1"})).status_code == 400
    assert (await client.get(SERVERS, params={"limit": "abc"})).status_code == 400
    assert (await client.get(SERVERS, params={"limit": str(10**12)})).status_code == 200
    assert (await client.get(SERVERS, params={"bogus": "1"})).status_code == 400
    old = await client.get(SERVERS, params={"bogus": "1"}, headers={"OpenStack-API-Version": "compute 2.74"})
    assert old.status_code == 200
    assert (await client.get(SERVERS, params={"marker": "00000000-0000-0000-0000-000000000009"})).status_code == 400
    assert (await client.get(SERVERS, params={"name": "(["})).status_code == 400


async def test_list_filters_and_paging(cloud, client):
    ids = []
    for i in range(7):
        ids.append((await boot(client, name=f"web-{i}" if i % 2 else f"db-{i}", flavor="2" if i % 2 else "1")
                    )["server"]["id"])
    await asyncio.gather(*(wait_status(client, i, "ACTIVE") for i in ids))
    names = [s["name"] for s in (await client.get(SERVERS, params={"name": "^web"})).json()["servers"]]
    assert sorted(names) == ["web-1", "web-3", "web-5"]
    assert len((await client.get(f"{SERVERS}/detail", params={"status": "ACTIVE"})).json()["servers"]) == 7
    assert (await client.get(SERVERS, params={"status": "ERROR"})).json()["servers"] == []
    on_host = (await client.get(f"{SERVERS}/detail", params={"host": "compute-1"})).json()["servers"]
    assert all(s["OS-EXT-SRV-ATTR:host"] == "compute-1" for s in on_host)
    seen, marker = [], None
    while True:
        params = {"limit": "3", **({"marker": marker} if marker else {})}
        page = (await client.get(SERVERS, params=params)).json()
        seen += [s["id"] for s in page["servers"]]
        if "servers_links" not in page:
            break
        marker = page["servers"][-1]["id"]
    assert seen == list(reversed(ids))  # newest first, no duplicates, nothing missed
    # Filters apply before the limit: every page of a filtered list is full until the last.
    pages, marker = [], None
    while True:
        params = {"limit": "2", "flavor": "2", **({"marker": marker} if marker else {})}
        page = (await client.get(SERVERS, params=params)).json()
        pages.append([s["id"] for s in page["servers"]])
        if "servers_links" not in page:
            break
        marker = page["servers"][-1]["id"]
    assert [len(p) for p in pages][:2] == [2, 1] and sum(pages, []) == [ids[5], ids[3], ids[1]]


async def test_projects_do_not_see_each_other(cloud):
    async with client_for(cloud, token="alice:proj-a") as alice, client_for(cloud, token="bob:proj-b") as bob:
        server_id = (await boot(alice, name="mine"))["server"]["id"]
        assert (await alice.get(f"{SERVERS}/{server_id}")).status_code == 200
        assert (await bob.get(f"{SERVERS}/{server_id}")).status_code == 404
        assert (await bob.delete(f"{SERVERS}/{server_id}")).status_code == 404
        assert (await bob.get(SERVERS)).json()["servers"] == []
        assert (await bob.get(f"{SERVERS}/detail", params={"all_tenants": "1"})).json()["servers"] == []
        assert (await bob.get("/compute/v2.1/os-hypervisors")).status_code == 403
        assert (await bob.post("/compute/v2.1/flavors", json={"flavor": {
            "name": "x", "ram": 1, "vcpus": 1, "disk": 1}})).status_code == 403


async def test_server_shape_by_microversion(cloud, client):
    server_id = (await boot(client, name="shape", description="d"))["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    new = (await client.get(f"{SERVERS}/{server_id}")).json()["server"]
    assert new["flavor"]["original_name"] == "m1.tiny" and new["flavor"]["ram"] == 512
    assert new["description"] == "d" and new["locked"] is False and new["tags"] == []
    assert new["OS-EXT-SRV-ATTR:hostname"] == "shape"
    assert "pinned_availability_zone" in new and new["scheduler_hints"] == {}
    assert new["image"]["properties"] == {}
    old = (await client.get(f"{SERVERS}/{server_id}", headers={"OpenStack-API-Version": "compute 2.1"})).json()
    old = old["server"]
    assert old["flavor"]["id"] == "1" and "links" in old["flavor"]
    for field in ("locked", "description", "tags", "pinned_availability_zone", "scheduler_hints"):
        assert field not in old
    assert "properties" not in old["image"]


async def test_flavors_and_extra_specs(client):
    flavors = (await client.get("/compute/v2.1/flavors/detail")).json()["flavors"]
    assert [f["name"] for f in flavors][:2] == ["m1.tiny", "m1.small"]
    assert flavors[0]["swap"] == 0 and flavors[0]["extra_specs"] == {}
    huge = await client.get("/compute/v2.1/flavors", params={"minRam": "9" * 30})
    assert huge.status_code == 200 and huge.json()["flavors"] == []  # larger than any flavor can be
    assert (await client.get("/compute/v2.1/flavors", params={"minRam": "lots"})).status_code == 400
    old = (await client.get("/compute/v2.1/flavors/1", headers={"OpenStack-API-Version": "compute 2.1"})).json()
    assert old["flavor"]["swap"] == "" and "extra_specs" not in old["flavor"]
    created = await client.post("/compute/v2.1/flavors", json={"flavor": {
        "name": "gpu", "ram": 1024, "vcpus": 2, "disk": 10, "id": "gpu", "description": "with specs"}})
    assert created.status_code == 200 and created.json()["flavor"]["description"] == "with specs"
    dup = await client.post("/compute/v2.1/flavors", json={"flavor": {"name": "gpu", "ram": 1, "vcpus": 1, "disk": 1}})
    assert dup.status_code == 409
    bad = await client.post("/compute/v2.1/flavors", json={"flavor": {"name": "neg", "ram": -1, "vcpus": 1, "disk": 1}})
    assert bad.status_code == 400 and "ram" in bad.json()["badRequest"]["message"]
    specs = await client.post("/compute/v2.1/flavors/gpu/os-extra_specs", json={"extra_specs": {"hw:cpu_policy": "dedicated"}})
    assert specs.status_code == 200
    assert (await client.get("/compute/v2.1/flavors/gpu/os-extra_specs/hw:cpu_policy")).json() == {
        "hw:cpu_policy": "dedicated"}
    assert (await client.get("/compute/v2.1/flavors/gpu")).json()["flavor"]["extra_specs"] == {
        "hw:cpu_policy": "dedicated"}
    assert (await client.delete("/compute/v2.1/flavors/gpu/os-extra_specs/hw:cpu_policy")).status_code == 200
    assert (await client.get("/compute/v2.1/flavors/gpu/os-extra_specs/hw:cpu_policy")).status_code == 404
    assert (await client.delete("/compute/v2.1/flavors/gpu")).status_code == 202
    assert (await client.get("/compute/v2.1/flavors/gpu")).status_code == 404


async def test_hypervisors_services_and_zones(cloud, client):
    hypervisors = (await client.get("/compute/v2.1/os-hypervisors/detail")).json()["hypervisors"]
    assert sorted(h["hypervisor_hostname"] for h in hypervisors) == ["compute-1", "compute-2", "compute-3"]
    assert all(h["state"] == "up" and h["status"] == "enabled" for h in hypervisors)
    assert "vcpus" not in hypervisors[0] and len(hypervisors[0]["id"]) == 36  # 2.88 and 2.53 shapes
    old = (await client.get("/compute/v2.1/os-hypervisors/detail",
                            headers={"OpenStack-API-Version": "compute 2.52"})).json()["hypervisors"]
    assert isinstance(old[0]["id"], int) and old[0]["vcpus"] == 16
    one = await client.get(f"/compute/v2.1/os-hypervisors/{hypervisors[0]['id']}")
    assert one.json()["hypervisor"]["hypervisor_hostname"] == hypervisors[0]["hypervisor_hostname"]
    assert (await client.get("/compute/v2.1/os-hypervisors/nope")).status_code == 400
    services = (await client.get("/compute/v2.1/os-services")).json()["services"]
    assert {(s["binary"], s["state"]) for s in services} == {("nova-compute", "up")}
    zones = (await client.get("/compute/v2.1/os-availability-zone")).json()["availabilityZoneInfo"]
    assert zones == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    detail = (await client.get("/compute/v2.1/os-availability-zone/detail")).json()["availabilityZoneInfo"]
    assert set(detail[0]["hosts"]) == {"compute-1", "compute-2", "compute-3"}


async def _names(client, **params) -> list[str]:
    response = await client.get(SERVERS, params=params)
    assert response.status_code == 200, response.text
    return [s["name"] for s in response.json()["servers"]]


async def test_sort_keys_and_directions_with_paging(cloud, client):
    ids = [(await boot(client, name=name))["server"]["id"] for name in ("b", "d", "a", "c")]
    await asyncio.gather(*(wait_status(client, i, "ACTIVE") for i in ids))
    assert await _names(client, sort_key="display_name", sort_dir="asc") == ["a", "b", "c", "d"]
    assert await _names(client, sort_key="display_name") == ["d", "c", "b", "a"]  # desc when not given
    assert await _names(client) == ["c", "a", "d", "b"]  # default: newest first
    # Two keys, each with its direction; every server is ACTIVE, so the name decides.
    two = [("sort_key", "vm_state"), ("sort_dir", "asc"), ("sort_key", "display_name"), ("sort_dir", "desc")]
    assert [s["name"] for s in (await client.get(SERVERS, params=two)).json()["servers"]] == ["d", "c", "b", "a"]
    paged, marker = [], None
    while True:
        params = {"sort_key": "display_name", "sort_dir": "asc", "limit": "1", **({"marker": marker} if marker else {})}
        page = (await client.get(f"{SERVERS}/detail", params=params)).json()
        paged += [s["name"] for s in page["servers"]]
        if "servers_links" not in page:
            break
        marker = page["servers"][-1]["id"]
    assert paged == ["a", "b", "c", "d"]
    # NULLs are the smallest value: servers never terminated come first ascending.
    assert len(await _names(client, sort_key="terminated_at", sort_dir="asc")) == 4

    for bad in ({"sort_key": "nope"}, {"sort_key": "display_name", "sort_dir": "sideways"},
                {"sort_dir": "asc"}):
        response = await client.get(SERVERS, params=bad)
        assert response.status_code == 400 and "sort" in response.json()["badRequest"]["message"], bad
    async with client_for(cloud, version="2.74") as old:
        assert (await old.get(SERVERS, params={"sort_key": "vcpus"})).status_code == 200  # ignored, as Nova
    assert (await client.get(SERVERS, params={"sort_key": "vcpus"})).status_code == 400
    async with client_for(cloud, token="alice:admin") as member:
        assert (await member.get(SERVERS, params={"sort_key": "host"})).status_code == 200
