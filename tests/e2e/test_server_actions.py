"""Server actions through the API on the fake driver: resulting states, 409s, events, resize."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import client_for
from tests.support.compute import SERVERS, boot, total_usage, wait_status


async def act(client, server_id, body, expect=202):
    response = await client.post(f"{SERVERS}/{server_id}/action", json=body)
    assert response.status_code == expect, response.text
    return response


async def active_server(client, name="act"):
    server_id = (await boot(client, name=name))["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    return server_id


async def events_of(client, server_id, action):
    actions = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()["instanceActions"]
    found = [a for a in actions if a["action"] == action]
    assert found, actions
    detail = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions/{found[0]['request_id']}")).json()
    return {e["event"]: e["result"] for e in detail["instanceAction"]["events"]}


async def test_power_actions_walk_the_state_machine(cloud, client):
    server_id = await active_server(client)
    await act(client, server_id, {"os-stop": None})
    server = await wait_status(client, server_id, "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == 4 and server["OS-EXT-STS:task_state"] is None
    conflict = await act(client, server_id, {"os-stop": None}, expect=409)
    assert "vm_state stopped" in conflict.json()["conflictingRequest"]["message"]
    await act(client, server_id, {"os-start": None})
    await wait_status(client, server_id, "ACTIVE")
    await act(client, server_id, {"pause": None})
    assert (await wait_status(client, server_id, "PAUSED"))["OS-EXT-STS:power_state"] == 3
    await act(client, server_id, {"suspend": None}, expect=409)
    await act(client, server_id, {"unpause": None})
    await wait_status(client, server_id, "ACTIVE")
    await act(client, server_id, {"suspend": None})
    assert (await wait_status(client, server_id, "SUSPENDED"))["OS-EXT-STS:power_state"] == 7
    await act(client, server_id, {"resume": None})
    await wait_status(client, server_id, "ACTIVE")
    assert await events_of(client, server_id, "stop") == {"compute_stop_instance": "Success"}
    assert await events_of(client, server_id, "resume") == {"compute_resume_instance": "Success"}
    guest = next(c.driver.guests[server_id] for c in cloud.computes if server_id in c.driver.guests)
    assert guest.power_state == 1


async def test_reboot_soft_and_hard(cloud, client):
    server_id = await active_server(client)
    await act(client, server_id, {"reboot": {"type": "SOFT"}})
    await wait_status(client, server_id, "ACTIVE")
    await act(client, server_id, {"reboot": {"type": "hard"}})
    await wait_status(client, server_id, "ACTIVE")
    bad = await act(client, server_id, {"reboot": {"type": "GENTLE"}}, expect=400)
    assert "reboot" in bad.json()["badRequest"]["message"]
    await act(client, server_id, {"os-stop": None})
    await wait_status(client, server_id, "SHUTOFF")
    await act(client, server_id, {"reboot": {"type": "SOFT"}}, expect=409)
    await act(client, server_id, {"reboot": {"type": "HARD"}})
    await wait_status(client, server_id, "ACTIVE")
    output = (await act(client, server_id, {"os-getConsoleOutput": {"length": 2}}, expect=200)).json()["output"]
    assert output.splitlines() == ["soft reboot", "hard reboot"][-2:] or "hard reboot" in output


async def test_console_output_and_bad_actions(cloud, client):
    server_id = await active_server(client, name="console")
    output = (await act(client, server_id, {"os-getConsoleOutput": {}}, expect=200)).json()["output"]
    assert "console booted" in output
    assert (await act(client, server_id, {"os-getConsoleOutput": {"length": 0}}, expect=200)).json()["output"] == ""
    await act(client, server_id, {"os-getConsoleOutput": {"length": "many"}}, expect=400)
    await act(client, server_id, {"explode": None}, expect=400)
    await act(client, server_id, {"os-stop": None, "os-start": None}, expect=400)
    await act(client, server_id, {"os-stop": {"force": True}}, expect=400)
    missing = await client.post(f"{SERVERS}/00000000-0000-0000-0000-00000000000a/action", json={"os-stop": None})
    assert missing.status_code == 404


async def test_lock_refuses_other_users_and_admin_lock_needs_admin(cloud, client):
    async with client_for(cloud, token="alice:proj") as alice:
        server_id = await active_server(alice, name="locked")
        await act(alice, server_id, {"lock": {"locked_reason": "maintenance"}})
        server = (await alice.get(f"{SERVERS}/{server_id}")).json()["server"]
        assert server["locked"] is True and server["locked_reason"] == "maintenance"
        blocked = await act(alice, server_id, {"os-stop": None}, expect=409)
        assert "locked" in blocked.json()["conflictingRequest"]["message"]
        await act(alice, server_id, {"unlock": None})
        await act(client, server_id, {"lock": None})  # the admin locks it now
        await act(alice, server_id, {"unlock": None}, expect=403)
        await act(client, server_id, {"os-stop": None})  # admins act on locked servers
        await wait_status(alice, server_id, "SHUTOFF")
        await act(client, server_id, {"unlock": None})
        assert (await alice.get(f"{SERVERS}/{server_id}")).json()["server"]["locked"] is False


async def test_rebuild_and_rename(cloud, client):
    server_id = await active_server(client, name="old")
    response = await act(client, server_id, {"rebuild": {"imageRef": "other-image", "name": "new",
                                                         "metadata": {"k": "v"}}})
    assert response.json()["server"]["name"] == "new"
    server = await wait_status(client, server_id, "ACTIVE")
    assert server["image"]["id"] == "other-image" and server["metadata"] == {"k": "v"}
    assert await events_of(client, server_id, "rebuild") == {"compute_rebuild_instance": "Success"}
    await act(client, server_id, {"rebuild": {}}, expect=400)
    renamed = await client.put(f"{SERVERS}/{server_id}", json={"server": {"name": "renamed", "description": "x"}})
    assert renamed.status_code == 200 and renamed.json()["server"]["name"] == "renamed"
    assert renamed.json()["server"]["description"] == "x"
    old = await client.put(f"{SERVERS}/{server_id}", json={"server": {"description": "x"}},
                           headers={"OpenStack-API-Version": "compute 2.18"})
    assert old.status_code == 400
    bad = await client.put(f"{SERVERS}/{server_id}", json={"server": {"name": ""}})
    assert bad.status_code == 400


async def _placement_by_host(cloud):
    usage = {}
    for compute in cloud.computes:
        used = await cloud.runtime.placement.get_usages(None, compute.node_uuid)
        usage[compute.host] = used.get("VCPU", 0)
    return usage


async def test_resize_confirm_moves_the_server_and_its_claim(cloud, client):
    server_id = await active_server(client, name="grow")
    source = (await client.get(f"{SERVERS}/{server_id}")).json()["server"]["OS-EXT-SRV-ATTR:host"]
    await act(client, server_id, {"resize": {"flavorRef": "1"}}, expect=400)   # same flavor
    await act(client, server_id, {"resize": {"flavorRef": "nope"}}, expect=400)
    await act(client, server_id, {"resize": {"flavorRef": "3"}})
    server = await wait_status(client, server_id, "VERIFY_RESIZE", "ERROR")
    assert server["status"] == "VERIFY_RESIZE", server.get("fault")
    dest = server["OS-EXT-SRV-ATTR:host"]
    assert dest != source and server["flavor"]["original_name"] == "m1.medium"
    during = await _placement_by_host(cloud)
    assert during[source] == 1 and during[dest] == 2      # source held by the migration until confirm
    await act(client, server_id, {"confirmResize": None}, expect=204)
    server = await wait_status(client, server_id, "ACTIVE")
    for _ in range(100):
        after = await _placement_by_host(cloud)
        if after[source] == 0:
            break
        await asyncio.sleep(0.05)
    assert after[source] == 0 and after[dest] == 2
    assert await total_usage(cloud) == {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 40}
    migrations = (await client.get("/compute/v2.1/os-migrations")).json()["migrations"]
    assert migrations[0]["status"] == "confirmed" and migrations[0]["migration_type"] == "resize"
    await act(client, server_id, {"confirmResize": None}, expect=409)


async def test_resize_revert_returns_to_the_source(cloud, client):
    server_id = await active_server(client, name="undo")
    source = (await client.get(f"{SERVERS}/{server_id}")).json()["server"]["OS-EXT-SRV-ATTR:host"]
    await act(client, server_id, {"resize": {"flavorRef": "2"}})
    await wait_status(client, server_id, "VERIFY_RESIZE")
    await act(client, server_id, {"revertResize": None})
    server = await wait_status(client, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == source and server["flavor"]["original_name"] == "m1.tiny"
    for _ in range(100):
        if await total_usage(cloud) == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}:
            break
        await asyncio.sleep(0.05)
    assert await total_usage(cloud) == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    hosts_with_guest = [c.host for c in cloud.computes if server_id in c.driver.guests]
    assert hosts_with_guest == [source]


async def test_migrate_is_admin_only_and_moves_hosts(cloud, client):
    async with client_for(cloud, token="bob:proj") as bob:
        server_id = await active_server(bob, name="mover")
        await act(bob, server_id, {"migrate": None}, expect=403)
    source = (await client.get(f"{SERVERS}/{server_id}")).json()["server"]["OS-EXT-SRV-ATTR:host"]
    target = next(c.host for c in cloud.computes if c.host != source)
    await act(client, server_id, {"migrate": {"host": target}})
    server = await wait_status(client, server_id, "VERIFY_RESIZE")
    assert server["OS-EXT-SRV-ATTR:host"] == target
    await act(client, server_id, {"confirmResize": None}, expect=204)
    await wait_status(client, server_id, "ACTIVE")


@pytest.mark.parametrize("action", ["os-start", "resume", "unpause", "confirmResize", "revertResize"])
async def test_actions_in_the_wrong_state_are_409(cloud, client, action):
    server_id = await active_server(client, name=f"wrong-{action}")
    response = await act(client, server_id, {action: None}, expect=409)
    assert "active" in response.json()["conflictingRequest"]["message"]


async def test_deleting_a_resized_server_frees_both_hosts(cloud, client):
    server_id = await active_server(client, name="gone")
    await act(client, server_id, {"resize": {"flavorRef": "2"}})
    await wait_status(client, server_id, "VERIFY_RESIZE")
    assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
    for _ in range(200):
        usage = await total_usage(cloud)
        if all(v == 0 for v in usage.values()):
            break
        await asyncio.sleep(0.05)
    assert all(v == 0 for v in usage.values()), usage
    assert all(server_id not in c.driver.guests and server_id not in c.driver.resize_sources
               for c in cloud.computes)
