"""Make the database agree with the hypervisor when a guest changed behind novalite's back."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from novalite.context import RequestContext
from novalite.states import PowerState, VmState

if TYPE_CHECKING:
    from novalite.services.compute.manager import ComputeManager

LOG = logging.getLogger(__name__)

_OFF = {PowerState.SHUTDOWN, PowerState.CRASHED, PowerState.NOSTATE}


async def sync_power_states(manager: "ComputeManager", ctx: RequestContext) -> int:
    """Returns how many instances were corrected."""
    observed = await manager.driver.list_power_states()
    corrected = 0
    for instance in await manager.conductor.instances_on_host(ctx, manager.host):
        if instance.task_state is not None:
            continue  # an action is in progress; it will set the state itself
        power = observed.get(instance.uuid, PowerState.NOSTATE)
        values: dict[str, object] = {}
        if power != instance.power_state:
            values["power_state"] = int(power)
        if instance.vm_state == VmState.ACTIVE and power in _OFF:
            LOG.warning("instance %s is %s on the hypervisor but ACTIVE in the database; marking it stopped",
                        instance.uuid, power.name)
            values["vm_state"] = VmState.STOPPED
        if values:
            async with manager.locks.hold(instance.uuid):
                await manager.conductor.instance_update(ctx, instance.uuid, values, expected_task_state=[None])
            corrected += 1
    return corrected
