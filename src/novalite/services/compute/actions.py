"""Server actions on the compute host: each runs the driver, then reports the new state.

Every action ends its instance-action event and clears its task_state in the same
conductor call; a failure leaves the vm_state as it was, with a fault saying why.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from novalite.context import RequestContext
from novalite.drivers.base import ImageSpec
from novalite.objects.actions import format_exception
from novalite.records import ActionEvent, InstanceRecord
from novalite.states import PowerState, TaskState, VmState

if TYPE_CHECKING:
    from novalite.services.compute.manager import ComputeManager

LOG = logging.getLogger(__name__)


async def run_action(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord, *,
                     event: str, task_state: str, work: Callable[[], Awaitable[None]],
                     done: dict[str, Any]) -> bool:
    conductor, uuid = manager.conductor, instance.uuid
    await conductor.event_start(ctx, uuid, event, manager.host)
    try:
        await work()
    except Exception as exc:
        LOG.warning("%s of %s failed on %s: %s [%s]", event, uuid, manager.host, exc, ctx.request_id)
        await conductor.add_fault(ctx, uuid, f"{event} failed on {manager.host}: {exc}",
                                  format_exception(exc), manager.host)
        await conductor.instance_update(
            ctx, uuid, {"task_state": None}, expected_task_state=[task_state],
            event=ActionEvent(name=event, phase="finish", result="Error", details=str(exc),
                              traceback=format_exception(exc)))
        return False
    await conductor.instance_update(
        ctx, uuid, {**done, "task_state": None}, expected_task_state=[task_state],
        event=ActionEvent(name=event, phase="finish", result="Success"))
    return True


async def reboot(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord, hard: bool) -> None:
    spec = instance.to_spec()
    await run_action(manager, ctx, instance, event="compute_reboot_instance",
                     task_state=TaskState.REBOOTING_HARD if hard else TaskState.REBOOTING,
                     work=lambda: manager.driver.reboot(spec, hard),
                     done={"vm_state": VmState.ACTIVE, "power_state": PowerState.RUNNING})


# method name -> (event, task_state during the action, driver method, vm_state after, power_state after)
POWER_ACTIONS: dict[str, tuple[str, str, str, str, PowerState]] = {
    "stop_instance": ("compute_stop_instance", TaskState.POWERING_OFF, "power_off",
                      VmState.STOPPED, PowerState.SHUTDOWN),
    "start_instance": ("compute_start_instance", TaskState.POWERING_ON, "power_on",
                       VmState.ACTIVE, PowerState.RUNNING),
    "pause_instance": ("compute_pause_instance", TaskState.PAUSING, "pause", VmState.PAUSED, PowerState.PAUSED),
    "unpause_instance": ("compute_unpause_instance", TaskState.UNPAUSING, "unpause",
                         VmState.ACTIVE, PowerState.RUNNING),
    "suspend_instance": ("compute_suspend_instance", TaskState.SUSPENDING, "suspend",
                         VmState.SUSPENDED, PowerState.SUSPENDED),
    "resume_instance": ("compute_resume_instance", TaskState.RESUMING, "resume",
                        VmState.ACTIVE, PowerState.RUNNING),
}


async def power_action(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                       method: str) -> None:
    event, task_state, driver_method, vm_state, power_state = POWER_ACTIONS[method]
    spec = instance.to_spec()
    await run_action(manager, ctx, instance, event=event, task_state=task_state,
                     work=lambda: getattr(manager.driver, driver_method)(spec),
                     done={"vm_state": vm_state, "power_state": power_state})


async def rebuild(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                  image: dict[str, Any]) -> None:
    """Re-create the guest from the new image; a stopped server stays stopped."""
    spec = instance.to_spec(ImageSpec.model_validate(image))
    was_stopped = instance.power_state == PowerState.SHUTDOWN

    async def work() -> None:
        await manager.driver.rebuild(spec)
        if was_stopped:
            await manager.driver.power_off(spec)

    ok = await run_action(
        manager, ctx, instance, event="compute_rebuild_instance", task_state=TaskState.REBUILDING, work=work,
        done={"vm_state": VmState.STOPPED if was_stopped else VmState.ACTIVE,
              "power_state": PowerState.SHUTDOWN if was_stopped else PowerState.RUNNING},
    )
    if not ok:
        await manager.conductor.instance_update(ctx, instance.uuid, {"vm_state": VmState.ERROR})


async def console_output(manager: "ComputeManager", instance: InstanceRecord, length: int | None) -> str:
    output = await manager.driver.get_console_output(instance.to_spec())
    if length is None:
        return output
    lines = output.splitlines(keepends=True)
    return "".join(lines[-length:]) if length else ""
