"""Scheduling through the HTTP API: server groups under concurrent boots, hints, zones, faults, dry run."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from novalite.config import DEFAULT_FILTERS
from tests.conftest import client_for
from tests.support.compute import SERVERS, boot, total_usage, wait_gone, wait_status

API = "/compute/v2.1"
HOSTS = {"compute-1", "compute-2", "compute-3"}


@pytest.fixture
async def cloud(cloud_factory, settings_factory):
    """Nova's default filters plus the hint filters (off by default, as in Nova)."""
    filters = DEFAULT_FILTERS + ["SameHostFilter", "DifferentHostFilter", "JsonFilter"]
    cloud = await cloud_factory(settings_factory(scheduler={"enabled_filters": filters}))
    await cloud.wait_background()
    return cloud


async def make_group(client: httpx.AsyncClient, policy: str, **rules: int) -> str:
    body: dict[str, Any] = {"name": f"g-{policy}", "policy": policy}
    if rules:
        body["rules"] = rules
    response = await client.post(f"{API}/os-server-groups", json={"server_group": body})
    assert response.status_code == 200, response.text
    return response.json()["server_group"]["id"]


async def boot_with_hints(client: httpx.AsyncClient, name: str, hints: dict[str, Any],
                          expect: int = 202, **server: Any) -> httpx.Response:
    body = {"server": {"name": name, "imageRef": "cirros-0.6", "flavorRef": "1", "networks": "none", **server},
            "os:scheduler_hints": hints}
    response = await client.post(SERVERS, json=body)
    assert response.status_code == expect, response.text
    return response


async def settle(client: httpx.AsyncClient, responses: list[httpx.Response]) -> list[dict[str, Any]]:
    ids = [r.json()["server"]["id"] for r in responses]
    return list(await asyncio.gather(*(wait_status(client, i, "ACTIVE", "ERROR") for i in ids)))


async def test_anti_affinity_holds_when_many_boots_race(cloud, client):
    group = await make_group(client, "anti-affinity")
    responses = await asyncio.gather(*(boot_with_hints(client, f"a{i}", {"group": group}) for i in range(8)))
    servers = await settle(client, list(responses))
    active = [s for s in servers if s["status"] == "ACTIVE"]
    hosts = [s["OS-EXT-SRV-ATTR:host"] for s in active]
    assert len(active) == 3 and set(hosts) == HOSTS          # one member per host, every host used
    for failed in (s for s in servers if s["status"] == "ERROR"):
        assert "ServerGroupAntiAffinityFilter: 0" in failed["fault"]["details"]
    assert await total_usage(cloud) == {"VCPU": 3, "MEMORY_MB": 3 * 512, "DISK_GB": 3}
    shown = (await client.get(f"{API}/os-server-groups/{group}")).json()["server_group"]
    assert {s["id"] for s in servers} == set(shown["members"])


async def test_max_server_per_host_allows_that_many_per_host(cloud, client):
    group = await make_group(client, "anti-affinity", max_server_per_host=2)
    responses = await asyncio.gather(*(boot_with_hints(client, f"m{i}", {"group": group}) for i in range(7)))
    servers = await settle(client, list(responses))
    per_host = Counter(s["OS-EXT-SRV-ATTR:host"] for s in servers if s["status"] == "ACTIVE")
    assert sorted(per_host.values()) == [2, 2, 2]
    assert [s["status"] for s in servers].count("ERROR") == 1


async def test_affinity_puts_every_member_with_the_first(cloud, client):
    group = await make_group(client, "affinity")
    first = await settle(client, [await boot_with_hints(client, "f0", {"group": group})])
    responses = await asyncio.gather(*(boot_with_hints(client, f"f{i}", {"group": group}) for i in range(1, 5)))
    servers = await settle(client, list(responses))
    assert {s["OS-EXT-SRV-ATTR:host"] for s in servers + first} == {first[0]["OS-EXT-SRV-ATTR:host"]}


async def test_soft_anti_affinity_spreads_but_never_fails(cloud, client):
    group = await make_group(client, "soft-anti-affinity")
    servers = []
    for i in range(5):  # one after another, so each sees where the previous ones went
        servers += await settle(client, [await boot_with_hints(client, f"s{i}", {"group": group})])
    per_host = Counter(s["OS-EXT-SRV-ATTR:host"] for s in servers)
    assert all(s["status"] == "ACTIVE" for s in servers)
    assert set(per_host) == HOSTS and max(per_host.values()) == 2


async def test_same_host_and_different_host_hints(cloud, client):
    anchor = (await settle(client, [await boot_with_hints(client, "anchor", {})]))[0]
    near = await settle(client, [await boot_with_hints(client, "near", {"same_host": anchor["id"]})])
    far = await settle(client, [await boot_with_hints(client, "far", {"different_host": [anchor["id"]]})])
    assert near[0]["OS-EXT-SRV-ATTR:host"] == anchor["OS-EXT-SRV-ATTR:host"]
    assert far[0]["OS-EXT-SRV-ATTR:host"] != anchor["OS-EXT-SRV-ATTR:host"]


async def test_bad_hints_are_400_and_create_nothing(cloud, client):
    missing = "8d4ac8d2-8f0e-4d3c-9d6b-000000000000"
    cases = [
        ({"same_host": missing}, "could not be found"),
        ({"different_host": ["not-a-uuid"]}, "not a valid UUID"),
        ({"group": missing}, "Invalid server group"),
        ({"group": "nope"}, "not a valid UUID"),
        ({"query": "[\"frobnicate\", 1]"}, "Invalid query hint"),
        ({"query": "{not json"}, "Invalid query hint"),
    ]
    for hints, text in cases:
        response = await boot_with_hints(client, "bad", hints, expect=400)
        assert text in response.json()["badRequest"]["message"], (hints, response.text)
    assert (await client.get(SERVERS)).json()["servers"] == []


async def test_server_groups_api_validates_and_scopes(cloud, client):
    for body, version in (
        ({"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}, "2.64"),
        ({"name": "x", "policy": "sideways"}, "2.64"),
        ({"name": "x", "policies": ["soft-affinity"]}, "2.14"),
        ({"name": "x", "policies": ["affinity", "anti-affinity"]}, "2.14"),
    ):
        async with client_for(cloud, version=version) as c:
            response = await c.post(f"{API}/os-server-groups", json={"server_group": body})
        assert response.status_code == 400, (body, response.text)
        assert "badRequest" in response.json()
    async with client_for(cloud, version="2.14") as old:
        created = await old.post(f"{API}/os-server-groups",
                                 json={"server_group": {"name": "old", "policies": ["anti-affinity"]}})
        assert created.json()["server_group"]["policies"] == ["anti-affinity"]
    group_id = created.json()["server_group"]["id"]
    async with client_for(cloud, token="demo:demo") as other:
        assert (await other.get(f"{API}/os-server-groups/{group_id}")).status_code == 404
        assert (await other.get(f"{API}/os-server-groups")).json()["server_groups"] == []
    assert (await client.delete(f"{API}/os-server-groups/{group_id}")).status_code == 204
    assert (await client.get(f"{API}/os-server-groups/{group_id}")).status_code == 404


async def test_fault_says_which_resource_placement_was_short_of(cloud, client):
    flavor = await client.post(f"{API}/flavors", json={"flavor": {
        "name": "fat", "ram": 512, "vcpus": 1, "disk": 5000, "id": "fat"}})
    assert flavor.status_code == 200, flavor.text
    server = (await settle(client, [await boot_with_hints(client, "fat", {}, flavorRef="fat")]))[0]
    fault = server["fault"]
    assert fault["message"].startswith("No valid host was found. placement: 0 hosts with")
    assert "short: DISK_GB:5000 (without it: 3 hosts)" in fault["details"]


async def test_fault_when_every_compute_is_disabled_names_the_trait(cloud, client):
    for compute in cloud.computes:
        compute.tracker.disabled = True
        await compute.update_resources(__import__("novalite.context").context.RequestContext.admin())
    server = (await settle(client, [await boot_with_hints(client, "off", {})]))[0]
    assert "no host without trait COMPUTE_STATUS_DISABLED (without it: 3 hosts)" in server["fault"]["details"]


async def test_aggregate_zones_steer_boots_and_stay_in_sync_with_placement(cloud, client):
    agg = (await client.post(f"{API}/os-aggregates", json={"aggregate": {"name": "rack1",
                                                                         "availability_zone": "az1"}})).json()
    agg_id = agg["aggregate"]["id"]
    added = await client.post(f"{API}/os-aggregates/{agg_id}/action", json={"add_host": {"host": "compute-2"}})
    assert added.status_code == 200 and added.json()["aggregate"]["hosts"] == ["compute-2"]
    node = next(c.node_uuid for c in cloud.computes if c.host == "compute-2")
    placement = cloud.runtime.placement
    providers = await placement.list_resource_providers(
        __import__("novalite.context").context.RequestContext.admin(),
        [("member_of", agg["aggregate"]["uuid"])])
    assert [p["uuid"] for p in providers] == [node]

    in_zone = await settle(client, [await boot_with_hints(client, f"z{i}", {}, availability_zone="az1")
                                    for i in range(3)])
    assert {s["OS-EXT-SRV-ATTR:host"] for s in in_zone} == {"compute-2"}
    default = await settle(client, [await boot_with_hints(client, f"n{i}", {}, availability_zone="nova")
                                    for i in range(4)])
    assert {s["OS-EXT-SRV-ATTR:host"] for s in default} == {"compute-1", "compute-3"}
    assert (await boot_with_hints(client, "x", {}, expect=400, availability_zone="mars")).json()

    zones = (await client.get(f"{API}/os-availability-zone/detail")).json()["availabilityZoneInfo"]
    by_name = {z["zoneName"]: z for z in zones}
    assert set(by_name["az1"]["hosts"]) == {"compute-2"}
    assert set(by_name["nova"]["hosts"]) == {"compute-1", "compute-3"}

    removed = await client.post(f"{API}/os-aggregates/{agg_id}/action",
                                json={"remove_host": {"host": "compute-2"}})
    assert removed.status_code == 200
    assert await placement.list_resource_providers(
        __import__("novalite.context").context.RequestContext.admin(),
        [("member_of", agg["aggregate"]["uuid"])]) == []


async def test_aggregate_refusals(cloud, client):
    make = lambda name, zone=None: client.post(  # noqa: E731
        f"{API}/os-aggregates", json={"aggregate": {"name": name, **({"availability_zone": zone} if zone else {})}})
    a = (await make("a", "az1")).json()["aggregate"]["id"]
    b = (await make("b", "az2")).json()["aggregate"]["id"]
    assert (await make("a")).status_code == 409
    assert (await client.post(f"{API}/os-aggregates", json={"aggregate": {"nom": "x"}})).status_code == 400
    action = lambda agg, body: client.post(f"{API}/os-aggregates/{agg}/action", json=body)  # noqa: E731
    assert (await action(a, {"add_host": {"host": "nowhere"}})).status_code == 404
    assert (await action(a, {"add_host": {"host": "compute-1"}})).status_code == 200
    assert (await action(a, {"add_host": {"host": "compute-1"}})).status_code == 409
    clash = await action(b, {"add_host": {"host": "compute-1"}})
    assert clash.status_code == 409 and "az1" in clash.json()["conflictingRequest"]["message"]
    assert (await action(a, {"remove_host": {"host": "compute-3"}})).status_code == 404
    assert (await client.delete(f"{API}/os-aggregates/{a}")).status_code == 400
    meta = await action(a, {"set_metadata": {"metadata": {"ram_weight_multiplier": "-1.0", "gone": None}}})
    assert meta.json()["aggregate"]["metadata"] == {"availability_zone": "az1", "ram_weight_multiplier": "-1.0"}
    async with client_for(cloud, token="demo:demo") as user:
        assert (await user.get(f"{API}/os-aggregates")).status_code == 403


async def test_dry_run_explains_every_host_and_claims_nothing(cloud, client):
    agg = (await client.post(f"{API}/os-aggregates", json={"aggregate": {"name": "r",
                                                                         "availability_zone": "az1"}})).json()
    await client.post(f"{API}/os-aggregates/{agg['aggregate']['id']}/action",
                      json={"add_host": {"host": "compute-1"}})
    await client.post(f"{API}/os-aggregates/{agg['aggregate']['id']}/action",
                      json={"add_host": {"host": "compute-2"}})
    anchor = (await settle(client, [await boot_with_hints(client, "anchor", {}, availability_zone="az1")]))[0]
    before = await total_usage(cloud)
    response = await client.post(f"{API}/os-scheduler-dry-run", json={"dry_run": {
        "flavorRef": "1", "availability_zone": "az1",
        "os:scheduler_hints": {"different_host": anchor["id"]}}})
    assert response.status_code == 200, response.text
    report = response.json()["dry_run"]
    rows = {r["host"]: r for r in report["hosts"]}
    assert rows["compute-3"]["step"] == "placement" and "availability zone az1" in rows["compute-3"]["reason"]
    chosen = anchor["OS-EXT-SRV-ATTR:host"]
    other = ({"compute-1", "compute-2"} - {chosen}).pop()
    assert rows[chosen]["result"] == "rejected" and rows[chosen]["step"] == "DifferentHostFilter"
    assert rows[other]["result"] == "accepted" and "RAMWeigher" in rows[other]["weighers"]
    assert report["selected"] == other
    assert await total_usage(cloud) == before
    async with client_for(cloud, token="demo:demo") as user:
        denied = await user.post(f"{API}/os-scheduler-dry-run", json={"dry_run": {"flavorRef": "1"}})
        assert denied.status_code == 403
    bad = await client.post(f"{API}/os-scheduler-dry-run", json={"dry_run": {"flavorRef": "1", "flavor": {}}})
    assert bad.status_code == 400 and "badRequest" in bad.json()


async def test_deleted_members_leave_the_group(cloud, client):
    group = await make_group(client, "anti-affinity")
    servers = await settle(client, [await boot_with_hints(client, f"d{i}", {"group": group}) for i in range(3)])
    for s in servers:
        assert (await client.delete(f"{SERVERS}/{s['id']}")).status_code == 204
    await asyncio.gather(*(wait_gone(client, s["id"]) for s in servers))
    assert (await client.get(f"{API}/os-server-groups/{group}")).json()["server_group"]["members"] == []
    again = await settle(client, [await boot_with_hints(client, f"e{i}", {"group": group}) for i in range(3)])
    assert {s["status"] for s in again} == {"ACTIVE"}


async def test_an_admin_forces_a_host_with_zone_colon_host(cloud, client):
    responses = [await boot_with_hints(client, f"forced{i}", {}, availability_zone="nova:compute-2")
                 for i in range(3)]
    servers = await settle(client, responses)
    assert [s["status"] for s in servers] == ["ACTIVE"] * 3
    assert {s["OS-EXT-SRV-ATTR:host"] for s in servers} == {"compute-2"}
    assert {s["OS-EXT-AZ:availability_zone"] for s in servers} == {"nova"}


async def test_forcing_a_host_is_for_admins_and_names_a_host(cloud, client):
    async with client_for(cloud, token="bob:proj") as bob:
        denied = await boot_with_hints(bob, "sneaky", {}, expect=403, availability_zone="nova:compute-1")
    assert "forced_host" in denied.json()["forbidden"]["message"]
    node = await boot_with_hints(client, "by-node", {}, expect=400, availability_zone="nova:compute-1:compute-1")
    assert "forces hosts only" in node.json()["badRequest"]["message"]
    missing = await boot_with_hints(client, "nowhere", {}, availability_zone="nova:no-such-host")
    server = (await settle(client, [missing]))[0]
    assert server["status"] == "ERROR"
    assert "the requested host no-such-host is not a compute host" in server["fault"]["message"]
