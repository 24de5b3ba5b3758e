"""The periodic power-state sync corrects the database when a guest changes behind novalite's back."""

from __future__ import annotations

from novalite.context import RequestContext
from novalite.states import PowerState
from tests.support.compute import boot, wait_status


async def test_guest_that_died_is_marked_shutoff(cloud, client):
    server_id = (await boot(client, name="victim"))["server"]["id"]
    server = await wait_status(client, server_id, "ACTIVE")
    compute = next(c for c in cloud.computes if c.host == server["OS-EXT-SRV-ATTR:host"])
    compute.driver.guests[server_id].power_state = PowerState.SHUTDOWN  # the hypervisor lost it

    corrected = await cloud.runtime.bus.call(f"compute.{compute.host}", "sync_power_states", RequestContext.admin())
    assert corrected == 1
    server = await wait_status(client, server_id, "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == PowerState.SHUTDOWN
    again = await cloud.runtime.bus.call(f"compute.{compute.host}", "sync_power_states", RequestContext.admin())
    assert again == 0
