"""Resize and cold migration across hosts, as Nova does them.

While a move is in flight placement holds the source allocation under the
migration's uuid and the destination allocation under the instance's, so neither
host can be overcommitted; confirm drops the source half, revert swaps them back.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from novalite.context import RequestContext
from novalite.drivers.base import MigrationDiskInfo
from novalite.objects.actions import format_exception
from novalite.records import ActionEvent, FlavorRecord, InstanceRecord
from novalite.services.compute.rpcapi import ComputeActionsAPI
from novalite.states import PowerState, TaskState, VmState

if TYPE_CHECKING:
    from novalite.services.compute.manager import ComputeManager

LOG = logging.getLogger(__name__)


def _with_flavor(instance: InstanceRecord, flavor: dict[str, Any]) -> InstanceRecord:
    return instance.model_copy(update={"flavor": FlavorRecord.model_validate(flavor)})


async def _fail(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                migration: dict[str, Any], event: str, exc: Exception) -> None:
    """A move failed half-way: the instance goes to ERROR where it is and its claim moves back."""
    LOG.warning("%s of %s failed on %s: %s", event, instance.uuid, manager.host, exc)
    conductor = manager.conductor
    await conductor.migration_update(ctx, instance.uuid, migration["uuid"], {"status": "error"})
    placement = manager.runtime.require_placement()
    await placement.delete_allocations(ctx, instance.uuid)
    await placement.move_allocations(ctx, migration["uuid"], instance.uuid, instance.project_id,
                                     instance.user_id, "INSTANCE")
    await conductor.set_error(ctx, instance.uuid, f"{event} failed on {manager.host}: {exc}",
                              format_exception(exc), manager.host)
    await conductor.event_finish(ctx, instance.uuid, event, "Error", details=str(exc),
                                 traceback=format_exception(exc))


async def resize_instance(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                          migration: dict[str, Any]) -> None:
    """Source host: stop the guest and hand its disks to the destination."""
    event = "compute_resize_instance"
    conductor = manager.conductor
    await conductor.event_start(ctx, instance.uuid, event, manager.host)
    try:
        await conductor.instance_update(ctx, instance.uuid, {"task_state": TaskState.RESIZE_MIGRATING},
                                        expected_task_state=[TaskState.RESIZE_PREP])
        new_flavor = _with_flavor(instance, migration["new_flavor"]).to_spec().flavor
        disk_info = await manager.driver.migrate_disk_and_power_off(
            instance.to_spec(), migration["dest_compute"], new_flavor)
        await conductor.migration_update(ctx, instance.uuid, migration["uuid"], {"status": "migrated"})
        await conductor.instance_update(ctx, instance.uuid, {"task_state": TaskState.RESIZE_MIGRATED},
                                        event=ActionEvent(name=event, phase="finish", result="Success"))
    except Exception as exc:
        await _fail(manager, ctx, instance, migration, event, exc)
        return
    await ComputeActionsAPI(manager.runtime.bus).cast_action(
        ctx, migration["dest_compute"], "finish_resize", instance, migration=migration,
        disk_info=disk_info.model_dump(mode="json"))


async def finish_resize(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                        migration: dict[str, Any], disk_info: dict[str, Any]) -> None:
    """Destination host: build the guest with the new flavor; the server waits in VERIFY_RESIZE."""
    event = "compute_finish_resize"
    conductor = manager.conductor
    await conductor.event_start(ctx, instance.uuid, event, manager.host)
    power_on = instance.power_state != PowerState.SHUTDOWN
    resized = _with_flavor(instance, migration["new_flavor"])
    try:
        await conductor.instance_update(ctx, instance.uuid, {"task_state": TaskState.RESIZE_FINISH},
                                        expected_task_state=[TaskState.RESIZE_MIGRATED])
        await manager.driver.finish_migration(resized.to_spec(), MigrationDiskInfo.model_validate(disk_info),
                                              power_on)
    except Exception as exc:
        await _fail(manager, ctx, instance, migration, event, exc)
        return
    system_metadata = {**instance.system_metadata, "old_flavor": migration["old_flavor"],
                       "old_vm_state": instance.vm_state}
    await conductor.migration_update(ctx, instance.uuid, migration["uuid"], {"status": "finished"})
    await conductor.instance_update(
        ctx, instance.uuid,
        {"host": manager.host, "node": migration["dest_node"], "flavor": migration["new_flavor"],
         "system_metadata": system_metadata, "vm_state": VmState.RESIZED, "task_state": None,
         "power_state": PowerState.RUNNING if power_on else PowerState.SHUTDOWN},
        expected_task_state=[TaskState.RESIZE_FINISH],
        event=ActionEvent(name=event, phase="finish", result="Success"))
    manager.resources_changed()


def _state_before(instance: InstanceRecord) -> tuple[str, PowerState]:
    was = instance.system_metadata.get("old_vm_state", VmState.ACTIVE)
    return (VmState.STOPPED, PowerState.SHUTDOWN) if was == VmState.STOPPED else (VmState.ACTIVE, PowerState.RUNNING)


async def confirm_resize(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                         migration: dict[str, Any]) -> None:
    """Source host: forget the old guest and release the source allocation."""
    event = "compute_confirm_resize"
    await manager.conductor.event_start(ctx, instance.uuid, event, manager.host)
    await manager.driver.confirm_migration(instance.to_spec())
    await manager.runtime.require_placement().delete_allocations(ctx, migration["uuid"])
    vm_state, _ = _state_before(instance)
    await manager.conductor.migration_update(ctx, instance.uuid, migration["uuid"], {"status": "confirmed"})
    metadata = {k: v for k, v in instance.system_metadata.items() if k not in ("old_flavor", "old_vm_state")}
    await manager.conductor.instance_update(
        ctx, instance.uuid, {"vm_state": vm_state, "task_state": None, "system_metadata": metadata},
        event=ActionEvent(name=event, phase="finish", result="Success"))
    manager.resources_changed()


async def drop_resize_source(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                             migration: dict[str, Any]) -> None:
    """Source host, when a server waiting in VERIFY_RESIZE is deleted: drop what was kept for a revert."""
    await manager.driver.confirm_migration(instance.to_spec())
    await manager.runtime.require_placement().delete_allocations(ctx, migration["uuid"])
    await manager.conductor.migration_update(ctx, instance.uuid, migration["uuid"], {"status": "confirmed"})
    manager.resources_changed()


async def revert_resize(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                        migration: dict[str, Any]) -> None:
    """Destination host: drop the new guest, then let the source bring the old one back."""
    event = "compute_revert_resize"
    await manager.conductor.event_start(ctx, instance.uuid, event, manager.host)
    if migration["dest_compute"] != migration["source_compute"]:
        await manager.driver.destroy(instance.to_spec())
    await manager.conductor.event_finish(ctx, instance.uuid, event, "Success")
    manager.resources_changed()
    await ComputeActionsAPI(manager.runtime.bus).cast_action(
        ctx, migration["source_compute"], "finish_revert_resize", instance, migration=migration)


async def finish_revert_resize(manager: "ComputeManager", ctx: RequestContext, instance: InstanceRecord,
                               migration: dict[str, Any]) -> None:
    """Source host: restart the original guest and take the source allocation back."""
    event = "compute_finish_revert_resize"
    await manager.conductor.event_start(ctx, instance.uuid, event, manager.host)
    vm_state, power_state = _state_before(instance)
    original = _with_flavor(instance, migration["old_flavor"])
    await manager.driver.finish_revert_migration(original.to_spec(), power_state == PowerState.RUNNING)
    placement = manager.runtime.require_placement()
    await placement.delete_allocations(ctx, instance.uuid)
    await placement.move_allocations(ctx, migration["uuid"], instance.uuid, instance.project_id,
                                     instance.user_id, "INSTANCE")
    metadata = {k: v for k, v in instance.system_metadata.items() if k not in ("old_flavor", "old_vm_state")}
    await manager.conductor.migration_update(ctx, instance.uuid, migration["uuid"], {"status": "reverted"})
    await manager.conductor.instance_update(
        ctx, instance.uuid,
        {"host": migration["source_compute"], "node": migration["source_node"], "flavor": migration["old_flavor"],
         "system_metadata": metadata, "vm_state": vm_state, "power_state": power_state, "task_state": None},
        event=ActionEvent(name=event, phase="finish", result="Success"))
    manager.resources_changed()
