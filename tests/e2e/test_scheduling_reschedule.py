"""Reschedule: a spawn failure moves the build (and its claim) to the next alternate host."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers import BaseWeigher
from tests.conftest import client_for
from tests.support.compute import SERVERS, boot, total_usage, wait_status

WEIGHER = "tests.e2e.test_scheduling_reschedule:PreferHigherNames"


class PreferHigherNames(BaseWeigher):
    """compute-3 first, then compute-2, then compute-1: a known order to fail hosts in."""

    name = "PreferHigherNames"

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return float(host.host.rsplit("-", 1)[-1])


async def start(cloud_factory, settings_factory, failing: list[str], max_attempts: int = 3):
    cloud = await cloud_factory(settings_factory(
        scheduler={"weight_classes": [WEIGHER], "max_attempts": max_attempts},
        fake_driver={"fail_spawn_hosts": failing}))
    await cloud.wait_background()
    return cloud


async def events_of(client, server_id: str) -> list[dict]:
    actions = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions")).json()["instanceActions"]
    request_id = actions[0]["request_id"]
    detail = (await client.get(f"{SERVERS}/{server_id}/os-instance-actions/{request_id}")).json()
    return detail["instanceAction"]["events"]


async def test_failed_spawns_move_to_the_next_alternate(cloud_factory, settings_factory):
    cloud = await start(cloud_factory, settings_factory, ["compute-3", "compute-2"])
    async with client_for(cloud) as client:
        server_id = (await boot(client))["server"]["id"]
        server = await wait_status(client, server_id, "ACTIVE", "ERROR")
        assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == "compute-1"
        assert await total_usage(cloud) == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}  # nothing left behind
        events = [e["event"] for e in await events_of(client, server_id)]
        assert events.count("conductor_reschedule_build") == 2


async def test_exhausted_attempts_fault_lists_every_host_tried(cloud_factory, settings_factory):
    cloud = await start(cloud_factory, settings_factory, ["compute-1", "compute-2", "compute-3"], max_attempts=2)
    async with client_for(cloud) as client:
        server_id = (await boot(client))["server"]["id"]
        server = await wait_status(client, server_id, "ERROR")
        fault = server["fault"]
        assert fault["message"].startswith("Exceeded maximum number of retries: the build failed on "
                                           "compute-3, compute-2. Last error on compute-2: ")
        assert "compute-3: " in fault["details"] and "compute-2: " in fault["details"]
        assert "compute-1" not in fault["details"]   # max_attempts 2: the third host is never tried
        assert all(v == 0 for v in (await total_usage(cloud)).values())


async def test_build_failure_weigher_steers_later_boots_away(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(
        scheduler={"weight_classes": [WEIGHER, "BuildFailureWeigher"]},
        fake_driver={"fail_spawn_hosts": ["compute-3"]}))
    await cloud.wait_background()
    async with client_for(cloud) as client:
        first = await wait_status(client, (await boot(client, name="a"))["server"]["id"], "ACTIVE")
        assert first["OS-EXT-SRV-ATTR:host"] == "compute-2"
        # compute-3 still weighs most by name, but its failed build now sinks it
        second = await wait_status(client, (await boot(client, name="b"))["server"]["id"], "ACTIVE")
        assert second["OS-EXT-SRV-ATTR:host"] == "compute-2"
        events = [e["event"] for e in await events_of(client, second["id"])]
        assert "conductor_reschedule_build" not in events
