"""GET /events through a real HTTP server: order, request ids, isolation, bad input, resume.
(Gaps and fan-out are tested on the hub itself: test_event_hub.py.)"""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import client_for
from tests.observability.support import open_stream, serving
from tests.support.compute import SERVERS, IMAGE, wait_status


async def _post_server(client, name: str = "vm") -> tuple[str, str]:
    response = await client.post(SERVERS, json={"server": {
        "name": name, "imageRef": IMAGE, "flavorRef": "1", "networks": "none"}})
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"], response.headers["x-openstack-request-id"]


async def test_a_quiet_stream_gets_keepalive_comments(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(events={"keepalive": 0.1}))
    async with serving(cloud.app) as base, open_stream(base, "admin:admin") as stream:
        lines = [await stream.line(timeout=5.0) for _ in range(4)]
    assert lines.count(": keepalive") == 2 and lines.count("") == 2


def _summary(record: dict) -> tuple:
    data = record["data"]["data"]
    if record["event"] == "server.state":
        return ("state", data["status"], data["task_state"])
    if "action" in data:
        return ("action", data["action"])
    return ("event", data["event"], data["phase"], data.get("result"))


async def test_a_boot_streams_state_changes_and_action_events_in_order(cloud_factory, settings_factory,
                                                                       transport_url):
    cloud = await cloud_factory(settings_factory(bus={"transport_url": transport_url}))
    async with serving(cloud.app) as base, client_for(cloud, token="alice:p1") as client:
        async with open_stream(base, "alice:p1") as stream:
            server_id, request_id = await _post_server(client)
            records = await stream.until(lambda r: r["event"] == "server.action"
                                         and r["data"]["data"].get("event") == "compute__do_build_and_run_instance"
                                         and r["data"]["data"].get("phase") == "finish")
    assert [_summary(r) for r in records] == [
        ("action", "create"),
        ("event", "conductor_schedule_and_build_instances", "finish", "Success"),
        ("state", "BUILD", "spawning"),
        ("event", "compute__do_build_and_run_instance", "start", None),
        ("state", "ACTIVE", None),
        ("event", "compute__do_build_and_run_instance", "finish", "Success"),
    ]
    assert {r["data"]["server_id"] for r in records} == {server_id}
    assert {r["data"]["request_id"] for r in records} == {request_id}
    assert {r["data"]["project_id"] for r in records} == {"p1"}
    ids = [int(r["id"]) for r in records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_a_failed_build_streams_its_fault(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(fake_driver={"fail_spawn": True},
                                                 compute={"fake_host_count": 1}))
    async with serving(cloud.app) as base, client_for(cloud) as client:
        async with open_stream(base, "admin:admin", {"kind": "fault,state"}) as stream:
            server_id, _ = await _post_server(client)
            records = await stream.until(lambda r: r["event"] == "server.fault")
    assert {r["event"] for r in records} <= {"server.fault", "server.state"}
    fault = records[-1]["data"]
    assert fault["server_id"] == server_id and fault["data"]["code"] == 500


async def test_projects_see_only_their_servers(cloud):
    async with serving(cloud.app) as base, client_for(cloud, token="alice:p1") as alice, \
            client_for(cloud, token="bob:p2") as bob:
        async with open_stream(base, "bob:p2") as bob_stream, open_stream(base, "admin:admin") as admin_stream:
            alice_server, _ = await _post_server(alice, "alice-vm")
            await wait_status(alice, alice_server, "ACTIVE")
            bob_server, _ = await _post_server(bob, "bob-vm")
            seen_by_bob = await bob_stream.until(lambda r: r["data"]["data"].get("status") == "ACTIVE")
            seen_by_admin = await admin_stream.until(
                lambda r: r["data"].get("server_id") == bob_server and r["data"]["data"].get("status") == "ACTIVE")
        assert {r["data"]["server_id"] for r in seen_by_bob} == {bob_server}
        assert {r["data"]["server_id"] for r in seen_by_admin} == {alice_server, bob_server}

        async with open_stream(base, "bob:p2", {"server": alice_server}) as refused:
            assert refused.response.status_code == 404
            assert "itemNotFound" in (await refused.response.aread()).decode()
        async with open_stream(base, "bob:p2", {"project": "p1"}) as refused:
            assert refused.response.status_code == 403
        async with open_stream(base, "bob:p2", {"kind": "service"}) as refused:
            assert refused.response.status_code == 403
        async with open_stream(base, "admin:admin", {"server": alice_server}) as allowed:
            assert allowed.response.status_code == 200
        hub = cloud.runtime.extras["events"]
        for _ in range(200):  # a client that went away leaves no subscription behind
            if hub.subscriber_count == 0:
                break
            await asyncio.sleep(0.05)
        assert hub.subscriber_count == 0


@pytest.mark.parametrize("params, status, words", [
    ({"colour": "blue"}, 400, "Unknown filter(s) colour"),
    ({"kind": "state,weather"}, 400, "Unknown event kind(s) weather"),
    ({"server": "00000000-0000-0000-0000-000000000000"}, 404, "could not be found"),
])
async def test_bad_filters_are_refused(cloud, params, status, words):
    async with serving(cloud.app) as base, open_stream(base, "admin:admin", params) as stream:
        assert stream.response.status_code == status
        assert words in (await stream.response.aread()).decode()


async def test_the_stream_needs_a_token(cloud):
    async with serving(cloud.app) as base, open_stream(base, "") as stream:
        assert stream.response.status_code == 401


async def test_a_client_resumes_with_last_event_id(cloud):
    async with serving(cloud.app) as base, client_for(cloud) as client:
        async with open_stream(base, "admin:admin", {"kind": "state"}) as stream:
            first, _ = await _post_server(client, "one")
            got = await stream.until(lambda r: r["data"]["data"]["status"] == "ACTIVE")
        last_id = got[-1]["id"]
        second, _ = await _post_server(client, "two")  # while nobody listens
        await wait_status(client, second, "ACTIVE")
        async with open_stream(base, "admin:admin", {"kind": "state"}, {"Last-Event-ID": last_id}) as stream:
            assert stream.ready["replayed"] >= 2
            replayed = await stream.until(lambda r: r["data"]["data"]["status"] == "ACTIVE")
    assert {r["data"]["server_id"] for r in replayed} == {second}
    assert all(int(r["id"]) > int(last_id) for r in replayed)


async def test_a_server_no_host_can_take_is_streamed_in_error(cloud, client):
    flavor = await client.post("/compute/v2.1/flavors", json={"flavor": {
        "name": "huge", "ram": 10_000_000, "vcpus": 1, "disk": 1, "id": "huge"}})
    assert flavor.status_code == 200, flavor.text
    async with serving(cloud.app) as base, open_stream(base, "admin:admin", {"kind": "state"}) as stream:
        response = await client.post(SERVERS, json={"server": {
            "name": "too-big", "imageRef": IMAGE, "flavorRef": "huge", "networks": "none"}})
        assert response.status_code == 202, response.text
        server_id = response.json()["server"]["id"]
        record = (await stream.until(lambda r: r["data"]["server_id"] == server_id))[-1]
    assert record["data"]["data"]["status"] == "ERROR" and record["data"]["data"]["host"] is None


async def test_admins_see_a_service_disabled_and_members_do_not(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(events={"service_poll_interval": 0.1}))
    async with serving(cloud.app) as base, client_for(cloud) as admin:
        services = (await admin.get("/compute/v2.1/os-services", params={"host": "compute-2"})).json()["services"]
        async with open_stream(base, "admin:admin", {"kind": "service"}) as stream, \
                open_stream(base, "alice:p1") as member:
            changed = await admin.put(f"/compute/v2.1/os-services/{services[0]['id']}",
                                      json={"status": "disabled", "disabled_reason": "disk swap"})
            assert changed.status_code == 200, changed.text
            # The computes coming up at start may be reported first: wait for compute-2's change.
            record = (await stream.until(lambda r: r["event"] == "service.state"
                                         and r["data"]["data"]["host"] == "compute-2"
                                         and r["data"]["data"]["disabled"]))[-1]
            assert record["data"]["data"] | {"last_heartbeat": None} == {
                "cell": "cell1", "host": "compute-2", "binary": "nova-compute", "state": "up",
                "disabled": True, "disabled_reason": "disk swap", "last_heartbeat": None}
            assert record["data"]["server_id"] is None
            with pytest.raises(TimeoutError):  # members never see services
                await member.next(timeout=0.5)
