"""What a compute does with its instances when it starts (Nova's _init_instance).

The process may have died in the middle of anything: builds that were running are
put in ERROR with a fault that says so and their claim is freed; deletes that were
running are finished; guests that are fine are handed back to the driver.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from novalite.context import RequestContext
from novalite.exceptions import InstanceNotFound
from novalite.records import InstanceRecord
from novalite.services.compute import build
from novalite.states import PowerState, TaskState, VmState

if TYPE_CHECKING:
    from novalite.services.compute.manager import ComputeManager

LOG = logging.getLogger(__name__)


async def init_instances(manager: "ComputeManager", ctx: RequestContext) -> None:
    for instance in await manager.conductor.instances_on_host(ctx, manager.host):
        try:
            await _init_instance(manager, ctx, instance)
        except InstanceNotFound:
            # In the cell but not yet mapped: the build never left the conductor, whose
            # restart reconcile sends it again.
            LOG.info("instance %s is not mapped yet; the conductor's reconcile owns it", instance.uuid)
        except Exception:  # one bad instance must not keep the host from starting
            LOG.exception("could not initialise instance %s on %s", instance.uuid, manager.host)


async def _init_instance(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord) -> None:
    uuid = instance.uuid
    if instance.task_state == TaskState.DELETING:
        LOG.info("finishing the interrupted delete of %s", uuid)
        await build.terminate(manager, ctx, instance)
        return
    if instance.vm_state == VmState.BUILDING:
        message = (f"Build of instance {uuid} was interrupted: the compute service on {manager.host} "
                   "stopped while it was building")
        LOG.warning(message)
        await manager.driver.destroy(instance.to_spec())
        await manager.runtime.require_placement().delete_allocations(ctx, uuid)
        await manager.conductor.set_error(ctx, uuid, message, None, manager.host, interrupted=True)
        return
    if instance.task_state is not None:
        await manager.conductor.instance_update(ctx, uuid, {"task_state": None})
    await manager.driver.adopt(instance.to_spec(), PowerState(instance.power_state))
