"""Service health: os-services enable/disable/force-down/delete, and stuck builds ending in ERROR."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from novalite.context import RequestContext
from tests.conftest import client_for
from tests.observability.support import sample
from tests.support.compute import SERVERS, begin_delete, boot, boot_active, total_usage, wait_status

SERVICES = "/compute/v2.1/os-services"


async def _compute_service(client: httpx.AsyncClient, host: str) -> dict[str, Any]:
    services = (await client.get(SERVICES, params={"host": host, "binary": "nova-compute"})).json()["services"]
    assert len(services) == 1, services
    return services[0]


async def _traits(cloud, host: str) -> set[str]:
    compute = next(c for c in cloud.computes if c.host == host)
    response = await client_for(cloud).get(f"/placement/resource_providers/{compute.node_uuid}/traits",
                                           headers={"OpenStack-API-Version": "placement 1.6"})
    assert response.status_code == 200, response.text
    return set(response.json()["traits"])


async def _eventually(check, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{check.__name__} never held")
        await asyncio.sleep(0.1)


async def _add_operator_traits(cloud, host: str, *names: str) -> None:
    compute = next(c for c in cloud.computes if c.host == host)
    placement = client_for(cloud)
    headers = {"OpenStack-API-Version": "placement 1.6"}
    path = f"/placement/resource_providers/{compute.node_uuid}/traits"
    for name in names:
        if name.startswith("CUSTOM_"):
            assert (await placement.put(f"/placement/traits/{name}", headers=headers)).status_code in (201, 204)
    current = (await placement.get(path, headers=headers)).json()
    reply = await placement.put(path, headers=headers, json={
        "traits": current["traits"] + list(names),
        "resource_provider_generation": current["resource_provider_generation"]})
    assert reply.status_code == 200, reply.text


async def test_disable_with_reason_reaches_placement_and_enable_clears_it(cloud, client):
    operators = {"CUSTOM_FAST_DISK", "STORAGE_DISK_SSD"}
    await _add_operator_traits(cloud, "compute-1", *operators)
    service = await _compute_service(client, "compute-1")
    assert isinstance(service["id"], str) and service["status"] == "enabled" and service["state"] == "up"
    reply = await client.put(f"{SERVICES}/{service['id']}", json={"status": "disabled",
                                                                  "disabled_reason": "maintenance"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["service"]["status"] == "disabled"
    assert reply.json()["service"]["disabled_reason"] == "maintenance"

    async def disabled_trait() -> bool:
        return "COMPUTE_STATUS_DISABLED" in await _traits(cloud, "compute-1")

    await _eventually(disabled_trait)  # the compute's next heartbeat notices and re-reports
    assert operators <= await _traits(cloud, "compute-1")  # the compute replaces only its own traits
    ids = [(await boot(client, name=f"d{i}"))["server"]["id"] for i in range(6)]
    servers = [await wait_status(client, i, "ACTIVE", "ERROR") for i in ids]
    assert {s["OS-EXT-SRV-ATTR:host"] for s in servers} <= {"compute-2", "compute-3"}

    reply = await client.put(f"{SERVICES}/{service['id']}", json={"status": "enabled"})
    assert reply.json()["service"] | {"status": "enabled", "disabled_reason": None} == reply.json()["service"]

    async def trait_gone() -> bool:
        return "COMPUTE_STATUS_DISABLED" not in await _traits(cloud, "compute-1")

    await _eventually(trait_gone)
    assert operators | {"COMPUTE_IMAGE_TYPE_RAW"} <= await _traits(cloud, "compute-1")


async def test_forced_down_and_the_2_53_validation(cloud, client):
    service = await _compute_service(client, "compute-2")
    url = f"{SERVICES}/{service['id']}"
    reply = await client.put(url, json={"forced_down": True})
    assert reply.status_code == 200 and reply.json()["service"]["state"] == "down"
    assert reply.json()["service"]["forced_down"] is True
    assert (await client.put(url, json={"forced_down": False})).json()["service"]["state"] == "up"
    for bad in ({}, {"disabled_reason": "no status"}, {"status": "sleeping"}, {"bogus": 1}):
        assert (await client.put(url, json=bad)).status_code == 400, bad
    assert (await client.put(f"{SERVICES}/not-a-uuid", json={"status": "enabled"})).status_code == 400
    missing = "00000000-0000-0000-0000-0000000000aa"
    assert (await client.put(f"{SERVICES}/{missing}", json={"status": "enabled"})).status_code == 404
    assert (await client.put(f"{SERVICES}/disable", json={"host": "compute-2",
                                                          "binary": "nova-compute"})).status_code == 400


async def test_legacy_action_urls_before_2_53(cloud):
    async with client_for(cloud, version="2.11") as old:
        body = {"host": "compute-3", "binary": "nova-compute"}
        reply = await old.put(f"{SERVICES}/disable-log-reason", json=body | {"disabled_reason": "disk"})
        assert reply.json() == {"service": body | {"status": "disabled", "disabled_reason": "disk"}}
        listed = (await old.get(SERVICES, params={"host": "compute-3"})).json()["services"][0]
        assert isinstance(listed["id"], int) and listed["disabled_reason"] == "disk"
        assert (await old.put(f"{SERVICES}/enable", json=body)).json()["service"]["status"] == "enabled"
        reply = await old.put(f"{SERVICES}/force-down", json=body | {"forced_down": True})
        assert reply.json() == {"service": body | {"forced_down": True}}
        assert (await old.get(SERVICES, params={"host": "compute-3"})).json()["services"][0]["state"] == "down"
        unknown = await old.put(f"{SERVICES}/disable", json={"host": "nowhere", "binary": "nova-compute"})
        assert unknown.status_code == 404
    async with client_for(cloud, version="2.10") as older:
        assert (await older.put(f"{SERVICES}/force-down", json=body | {"forced_down": True})).status_code == 404


async def test_delete_refuses_a_busy_compute_then_removes_an_idle_one(cloud, client):
    server_id = (await boot(client, availability_zone="nova:compute-1"))["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    busy = await _compute_service(client, "compute-1")
    assert (await client.delete(f"{SERVICES}/{busy['id']}")).status_code == 409
    idle = await _compute_service(client, "compute-3")
    node_uuid = next(c.node_uuid for c in cloud.computes if c.host == "compute-3")
    # Stop the compute first, or its next report would bring the node back, as in Nova.
    await next(c for c in cloud.computes if c.host == "compute-3").stop()
    cloud.computes = [c for c in cloud.computes if c.host != "compute-3"]
    assert (await client.delete(f"{SERVICES}/{idle['id']}")).status_code == 204
    assert (await client.get(SERVICES, params={"host": "compute-3"})).json()["services"] == []
    assert await cloud.runtime.placement.get_resource_provider(RequestContext.admin(), node_uuid) is None
    assert (await client.delete(f"{SERVICES}/{idle['id']}")).status_code == 404


async def test_a_build_nobody_finishes_ends_in_error_with_its_claim_freed(cloud_factory, settings_factory):
    # The compute takes the build and then never reports again: the conductor gives up on it.
    cloud = await cloud_factory(settings_factory(fake_driver={"spawn_delay": 600.0},
                                                 conductor={"build_timeout": 1.0}))
    async with client_for(cloud) as client:
        before = (await client.get("/metrics")).text
        server_id = (await boot(client))["server"]["id"]
        server = await wait_status(client, server_id, "ERROR")
        assert "timed out after 1 s (conductor.build_timeout)" in server["fault"]["message"]
        assert server["OS-EXT-STS:task_state"] is None
        assert await total_usage(cloud) in ({}, {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0})
        # The build's action ends too: its open compute event is finished as an error.
        create = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()["instanceActions"][0]
        detail = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions/{create['request_id']}")).json()
        build_events = {e["event"]: e for e in detail["instanceAction"]["events"]}
        assert build_events["compute__do_build_and_run_instance"]["result"] == "Error"
        assert all(e["finish_time"] for e in build_events.values())
        after = (await client.get("/metrics")).text
        errors = "novalite_build_duration_seconds_count"
        assert sample(after, errors, outcome="ERROR") - sample(before, errors, outcome="ERROR") == 1
        assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204


async def _force_down(client: httpx.AsyncClient, host: str, down: bool) -> None:
    service = await _compute_service(client, host)
    reply = await client.put(f"{SERVICES}/{service['id']}", json={"forced_down": down})
    assert reply.status_code == 200, reply.text


async def _delete_while_down(client: httpx.AsyncClient, cloud, host: str) -> str:
    """Boot on `host`, force its compute down, delete: the API does it (Nova's local delete)."""
    server_id = await boot_active(client, availability_zone=f"nova:{host}")
    await _force_down(client, host, True)
    assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
    assert (await client.get(f"{SERVERS}/{server_id}")).status_code == 404
    assert server_id not in {s["id"] for s in (await client.get(SERVERS)).json()["servers"]}
    assert all(v == 0 for v in (await total_usage(cloud)).values())
    return server_id


async def test_a_compute_back_from_down_destroys_guests_of_servers_deleted_meanwhile(cloud, client):
    compute = next(c for c in cloud.computes if c.host == "compute-1")
    server_id = await _delete_while_down(client, cloud, "compute-1")
    assert server_id in compute.driver.guests  # the hypervisor was never told

    await compute.stop()
    await compute.start()  # the compute comes back: its start-up finds the leftover guest
    await _force_down(client, "compute-1", False)
    assert server_id not in compute.driver.guests


async def test_a_running_compute_reaps_guests_of_deleted_servers_at_its_power_sync(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(compute={"sync_power_state_interval": 0.3}))
    async with client_for(cloud) as client:
        compute = next(c for c in cloud.computes if c.host == "compute-3")
        server_id = await _delete_while_down(client, cloud, "compute-3")

        async def guest_reaped() -> bool:
            return server_id not in compute.driver.guests

        await _eventually(guest_reaped)


async def test_a_delete_stuck_on_a_compute_that_died_completes_when_repeated(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(fake_driver={"destroy_delay": 3.0}))
    async with client_for(cloud) as client:
        server_id = await boot_active(client, availability_zone="nova:compute-2")
        await begin_delete(client, server_id)

        await _force_down(client, "compute-2", True)
        assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
        assert (await client.get(f"{SERVERS}/{server_id}")).status_code == 404
        assert all(v == 0 for v in (await total_usage(cloud)).values())
