"""Compute's half of a build: spawn through the driver, report through the conductor."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from novalite.context import RequestContext
from novalite.db.types import utcnow
from novalite.exceptions import InstanceNotFound
from novalite.objects.actions import format_exception
from novalite.objects.instances import UnexpectedTaskState
from novalite.observability.metrics import observe_build
from novalite.records import ActionEvent, InstanceRecord
from novalite.services.conductor.reschedule import cast_reschedule
from novalite.states import PowerState, TaskState, VmState

if TYPE_CHECKING:
    from novalite.services.compute.manager import ComputeManager

LOG = logging.getLogger(__name__)

BUILD_EVENT = "compute__do_build_and_run_instance"
TERMINATE_EVENT = "compute_terminate_instance"


async def build_and_run(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                        alternates: list[dict[str, Any]]) -> None:
    conductor, uuid = manager.conductor, instance.uuid
    try:
        instance = await conductor.instance_update(
            ctx, uuid, {"task_state": TaskState.SPAWNING}, expected_task_state=[TaskState.SCHEDULING],
            event=ActionEvent(name=BUILD_EVENT, phase="start"))
    except (InstanceNotFound, UnexpectedTaskState):
        LOG.info("build of %s abandoned: the server was deleted before it started [%s]", uuid, ctx.request_id)
        return
    spec = instance.to_spec()
    try:
        await manager.driver.spawn(spec)
    except Exception as exc:
        await build_failed(manager, ctx, instance, exc, alternates)
        return
    try:
        await conductor.instance_update(
            ctx, uuid,
            {"vm_state": VmState.ACTIVE, "task_state": None, "power_state": PowerState.RUNNING,
             "launched_at": utcnow().isoformat()},
            expected_task_state=[TaskState.SPAWNING],
            event=ActionEvent(name=BUILD_EVENT, phase="finish", result="Success"),
        )
    except (InstanceNotFound, UnexpectedTaskState):
        # Deleted while spawning: the delete (waiting on this instance's lock) removes the guest.
        LOG.info("server %s was deleted while it spawned [%s]", uuid, ctx.request_id)
        await conductor.event_finish(ctx, uuid, BUILD_EVENT, "Error", details="deleted during build")
        return
    observe_build("ACTIVE", instance.created_at)
    manager.resources_changed()


async def build_failed(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                       exc: Exception, alternates: list[dict[str, Any]]) -> None:
    """A spawn failed: clean the hypervisor and hand the build back to the conductor to reschedule.

    The claim stays: the conductor moves it to the next alternate, or frees it and puts
    the instance in ERROR once the attempts are used up.
    """
    uuid = instance.uuid
    LOG.warning("spawn of %s failed on %s: %s [%s]", uuid, manager.host, exc, ctx.request_id)
    await manager.driver.destroy(instance.to_spec())
    await manager.conductor.event_finish(ctx, uuid, BUILD_EVENT, "Error", details=str(exc),
                                         traceback=format_exception(exc))
    await cast_reschedule(manager.conductor.bus, ctx, uuid, manager.host, str(exc) or type(exc).__name__,
                          alternates)


async def terminate(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord) -> None:
    uuid = instance.uuid
    conductor = manager.conductor
    await conductor.event_start(ctx, uuid, TERMINATE_EVENT, manager.host)
    await manager.driver.destroy(instance.to_spec())
    await manager.runtime.require_placement().delete_allocations(ctx, uuid)
    await conductor.event_finish(ctx, uuid, TERMINATE_EVENT, "Success")
    await conductor.instance_destroy(ctx, uuid)
    manager.resources_changed()
