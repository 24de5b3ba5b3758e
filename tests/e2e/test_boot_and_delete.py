"""The build pipeline end to end through HTTP: API → conductor → scheduler → placement → compute."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from novalite.db.api_models import CELL0_UUID, InstanceMapping
from tests.support.compute import SERVERS, begin_delete, boot, boot_active, total_usage, wait_gone, wait_status


async def test_many_servers_become_active_and_usage_matches(cloud, client):
    created = await asyncio.gather(*(boot(client, name=f"vm{i}") for i in range(30)))
    ids = [c["server"]["id"] for c in created]
    servers = await asyncio.gather(*(wait_status(client, i, "ACTIVE", "ERROR") for i in ids))
    assert {s["status"] for s in servers} == {"ACTIVE"}
    assert all(s["OS-EXT-STS:power_state"] == 1 and s["OS-EXT-STS:vm_state"] == "active" for s in servers)
    assert {s["OS-EXT-SRV-ATTR:host"] for s in servers} <= {"compute-1", "compute-2", "compute-3"}
    assert await total_usage(cloud) == {"VCPU": 30, "MEMORY_MB": 30 * 512, "DISK_GB": 30}

    for i in ids:
        assert (await client.delete(f"{SERVERS}/{i}")).status_code == 204
    await asyncio.gather(*(wait_gone(client, i) for i in ids))
    for _ in range(100):  # the last terminate may still be freeing its claim
        if all(v == 0 for v in (await total_usage(cloud)).values()):
            break
        await asyncio.sleep(0.05)
    assert all(v == 0 for v in (await total_usage(cloud)).values())


async def test_no_valid_host_buries_in_cell0_with_a_fault(cloud, client):
    flavor = await client.post("/compute/v2.1/flavors", json={"flavor": {
        "name": "huge", "ram": 10_000_000, "vcpus": 1, "disk": 1, "id": "huge"}})
    assert flavor.status_code == 200, flavor.text
    server_id = (await boot(client, flavor="huge"))["server"]["id"]
    server = await wait_status(client, server_id, "ERROR")
    assert "No valid host was found" in server["fault"]["message"]
    assert "MEMORY_MB:10000000" in server["fault"]["message"]
    assert server["OS-EXT-SRV-ATTR:host"] is None
    async with cloud.runtime.api_sessions() as session:
        mapping = await session.scalar(select(InstanceMapping).where(InstanceMapping.instance_uuid == server_id))
    assert mapping.cell.uuid == CELL0_UUID
    actions = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()["instanceActions"]
    assert [a["action"] for a in actions] == ["create"]
    assert await total_usage(cloud) in ({}, {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0})
    assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
    await wait_gone(client, server_id)


async def test_spawn_failure_leaves_error_with_fault_and_frees_the_claim(cloud_factory, settings_factory):
    from tests.conftest import client_for

    cloud = await cloud_factory(settings_factory(fake_driver={"fail_spawn": True}))
    async with client_for(cloud) as client:
        server_id = (await boot(client))["server"]["id"]
        server = await wait_status(client, server_id, "ERROR")
        # Every host failed (the build was rescheduled to each): the fault names them and why.
        fault = server["fault"]
        assert "compute-1" in fault["message"] and "compute-3" in fault["message"]
        assert "fake driver was told to fail" in fault["details"]
        usage = await total_usage(cloud)
        assert all(v == 0 for v in usage.values()), usage
        request_id = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()[
            "instanceActions"][0]["request_id"]
        action = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions/{request_id}")).json()
        events = {e["event"]: e["result"] for e in action["instanceAction"]["events"]}
        assert events["compute__do_build_and_run_instance"] == "Error"


async def test_delete_while_building_leaves_no_allocation(cloud_factory, settings_factory):
    from tests.conftest import client_for

    cloud = await cloud_factory(settings_factory(fake_driver={"spawn_delay": 0.5}))
    async with client_for(cloud) as client:
        ids = [(await boot(client, name=f"b{i}"))["server"]["id"] for i in range(6)]
        await asyncio.sleep(0.1)  # some are scheduled, some spawning: deletes hit every stage
        for i in ids:
            assert (await client.delete(f"{SERVERS}/{i}")).status_code == 204
        await asyncio.gather(*(wait_gone(client, i) for i in ids))
        for _ in range(100):
            usage = await total_usage(cloud)
            if all(v == 0 for v in usage.values()):
                break
            await asyncio.sleep(0.05)
        assert all(v == 0 for v in usage.values()), usage
        for compute in cloud.computes:
            assert compute.driver.guests == {}


async def test_instance_actions_carry_the_request_id(cloud, client):
    response = await client.post(SERVERS, json={"server": {
        "name": "evt", "imageRef": "img", "flavorRef": "1", "networks": "none"}})
    request_id = response.headers["x-openstack-request-id"]
    server_id = response.json()["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    actions = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()["instanceActions"]
    assert actions[0]["request_id"] == request_id and actions[0]["action"] == "create"
    detail = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions/{request_id}")).json()
    events = detail["instanceAction"]["events"]
    assert {e["event"] for e in events} == {"conductor_schedule_and_build_instances",
                                            "compute__do_build_and_run_instance"}
    assert all(e["result"] == "Success" and e["finish_time"] for e in events)
    delete = await client.delete(f"{SERVERS}/{server_id}")
    await wait_gone(client, server_id)
    actions = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()["instanceActions"]
    assert [a["action"] for a in actions] == ["delete", "create"]
    assert actions[0]["request_id"] == delete.headers["x-openstack-request-id"]


async def test_a_deleting_server_stays_visible_until_its_host_has_destroyed_it(cloud_factory, settings_factory):
    from tests.conftest import client_for

    cloud = await cloud_factory(settings_factory(fake_driver={"destroy_delay": 1.0}))
    async with client_for(cloud) as client:
        server_id = await boot_active(client, name="slow-delete")
        # The host is still destroying it: GET, the list and a repeat DELETE all see it, as in Nova.
        await begin_delete(client, server_id)
        listed = (await client.get(SERVERS)).json()["servers"]
        assert server_id in {s["id"] for s in listed}
        assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
        reboot = await client.post(f"{SERVERS}/{server_id}/action", json={"reboot": {"type": "SOFT"}})
        assert reboot.status_code == 409 and "task_state deleting" in reboot.text

        # Once GET says 404 the list agrees and the host holds nothing.
        await wait_gone(client, server_id)
        assert server_id not in {s["id"] for s in (await client.get(SERVERS)).json()["servers"]}
        assert all(compute.driver.guests == {} for compute in cloud.computes)
        assert all(v == 0 for v in (await total_usage(cloud)).values())


async def test_a_build_message_delivered_twice_builds_once_and_keeps_the_claim(cloud, client):
    from novalite.context import RequestContext
    from novalite.services.conductor.rpcapi import TOPIC

    server_id = await boot_active(client, name="once")
    usage = await total_usage(cloud)
    # What a broker does when a conductor dies before acknowledging: the same message again.
    await cloud.runtime.bus.call(TOPIC, "build_instances", RequestContext.admin(), instance_uuids=[server_id])
    server = (await client.get(f"{SERVERS}/{server_id}")).json()["server"]
    assert server["status"] == "ACTIVE" and await total_usage(cloud) == usage
    actions = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()["instanceActions"]
    assert [a["action"] for a in actions] == ["create"]
    assert sum(server_id in c.driver.guests for c in cloud.computes) == 1
