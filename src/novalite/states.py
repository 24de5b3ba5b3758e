"""Nova's instance states, the API status derived from them, and the allowed transitions."""

from __future__ import annotations

from enum import IntEnum


class VmState:
    ACTIVE = "active"
    BUILDING = "building"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    STOPPED = "stopped"
    RESCUED = "rescued"
    RESIZED = "resized"
    SOFT_DELETED = "soft-delete"
    DELETED = "deleted"
    ERROR = "error"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"


class TaskState:
    SCHEDULING = "scheduling"
    BLOCK_DEVICE_MAPPING = "block_device_mapping"
    NETWORKING = "networking"
    SPAWNING = "spawning"
    IMAGE_SNAPSHOT = "image_snapshot"
    REBUILDING = "rebuilding"
    REBUILD_SPAWNING = "rebuild_spawning"
    MIGRATING = "migrating"
    RESIZE_PREP = "resize_prep"
    RESIZE_MIGRATING = "resize_migrating"
    RESIZE_MIGRATED = "resize_migrated"
    RESIZE_FINISH = "resize_finish"
    RESIZE_REVERTING = "resize_reverting"
    RESIZE_CONFIRMING = "resize_confirming"
    REBOOTING = "reboot_started"
    REBOOT_PENDING = "reboot_pending"
    REBOOTING_HARD = "reboot_started_hard"
    REBOOT_PENDING_HARD = "reboot_pending_hard"
    PAUSING = "pausing"
    UNPAUSING = "unpausing"
    SUSPENDING = "suspending"
    RESUMING = "resuming"
    POWERING_OFF = "powering-off"
    POWERING_ON = "powering-on"
    DELETING = "deleting"


class PowerState(IntEnum):
    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


# (vm_state) -> status, with task_state overrides, as the Compute API shows them.
_STATUS_BY_VM_STATE: dict[str, str] = {
    VmState.ACTIVE: "ACTIVE",
    VmState.BUILDING: "BUILD",
    VmState.STOPPED: "SHUTOFF",
    VmState.RESIZED: "VERIFY_RESIZE",
    VmState.PAUSED: "PAUSED",
    VmState.SUSPENDED: "SUSPENDED",
    VmState.RESCUED: "RESCUE",
    VmState.ERROR: "ERROR",
    VmState.DELETED: "DELETED",
    VmState.SOFT_DELETED: "SOFT_DELETED",
    VmState.SHELVED: "SHELVED",
    VmState.SHELVED_OFFLOADED: "SHELVED_OFFLOADED",
}

_TASK_OVERRIDES: dict[str, dict[str, str]] = {
    VmState.ACTIVE: {
        TaskState.REBOOTING: "REBOOT",
        TaskState.REBOOT_PENDING: "REBOOT",
        TaskState.REBOOTING_HARD: "HARD_REBOOT",
        TaskState.REBOOT_PENDING_HARD: "HARD_REBOOT",
        TaskState.REBUILDING: "REBUILD",
        TaskState.REBUILD_SPAWNING: "REBUILD",
        TaskState.MIGRATING: "MIGRATING",
        TaskState.RESIZE_PREP: "RESIZE",
        TaskState.RESIZE_MIGRATING: "RESIZE",
        TaskState.RESIZE_MIGRATED: "RESIZE",
        TaskState.RESIZE_FINISH: "RESIZE",
    },
    VmState.STOPPED: {
        TaskState.REBUILDING: "REBUILD",
        TaskState.RESIZE_PREP: "RESIZE",
        TaskState.RESIZE_MIGRATING: "RESIZE",
        TaskState.RESIZE_MIGRATED: "RESIZE",
        TaskState.RESIZE_FINISH: "RESIZE",
    },
    VmState.RESIZED: {TaskState.RESIZE_REVERTING: "REVERT_RESIZE"},
    VmState.ERROR: {TaskState.REBUILDING: "REBUILD"},
}


def status_from_state(vm_state: str, task_state: str | None) -> str:
    """The API `status` Nova shows for a (vm_state, task_state) pair."""
    override = _TASK_OVERRIDES.get(vm_state, {}).get(task_state or "")
    if override:
        return override
    return _STATUS_BY_VM_STATE.get(vm_state, "UNKNOWN")


def vm_states_for_status(status: str) -> list[str]:
    """The vm_states whose plain status is `status` (for the `status` list filter)."""
    status = status.upper()
    return [vm for vm, st in _STATUS_BY_VM_STATE.items() if st == status]


class InvalidState(Exception):
    """An action was asked of an instance in a state that does not allow it."""

    def __init__(self, action: str, attr: str, state: str | None, uuid: str):
        self.action, self.attr, self.state, self.uuid = action, attr, state, uuid
        super().__init__(
            f"Cannot '{action}' instance {uuid} while it is in {attr} {state}"
        )


# action -> allowed vm_states and task_states (None in task states means "no task").
ALLOWED_TRANSITIONS: dict[str, tuple[set[str], set[str | None]]] = {
    "delete": (
        {
            VmState.ACTIVE, VmState.BUILDING, VmState.STOPPED, VmState.PAUSED,
            VmState.SUSPENDED, VmState.RESCUED, VmState.RESIZED, VmState.ERROR,
            VmState.SHELVED, VmState.SHELVED_OFFLOADED, VmState.SOFT_DELETED,
        },
        # Deleting is allowed whatever the task, as in Nova (a repeat while deleting is a no-op).
        {None, *[v for k, v in vars(TaskState).items() if k.isupper()]},
    ),
    "reboot": ({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR},
               {None, TaskState.REBOOTING, TaskState.REBOOT_PENDING, TaskState.REBOOTING_HARD,
                TaskState.REBOOT_PENDING_HARD}),
    "stop": ({VmState.ACTIVE, VmState.RESCUED, VmState.ERROR}, {None}),
    "start": ({VmState.STOPPED}, {None}),
    "pause": ({VmState.ACTIVE, VmState.RESCUED}, {None}),
    "unpause": ({VmState.PAUSED}, {None}),
    "suspend": ({VmState.ACTIVE}, {None}),
    "resume": ({VmState.SUSPENDED}, {None}),
    "rebuild": ({VmState.ACTIVE, VmState.STOPPED, VmState.ERROR}, {None}),
    "resize": ({VmState.ACTIVE, VmState.STOPPED}, {None}),
    "migrate": ({VmState.ACTIVE, VmState.STOPPED}, {None}),
    "confirm_resize": ({VmState.RESIZED}, {None}),
    "revert_resize": ({VmState.RESIZED}, {None}),
    "lock": (set(_STATUS_BY_VM_STATE), {None, *[v for k, v in vars(TaskState).items() if k.isupper()]}),
    "console_output": ({VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED,
                        VmState.RESCUED, VmState.RESIZED, VmState.ERROR},
                       {None, *[v for k, v in vars(TaskState).items() if k.isupper()]}),
}


def check_state(action: str, uuid: str, vm_state: str, task_state: str | None) -> None:
    """Raise InvalidState naming the blocking state when `action` is not allowed now."""
    vm_ok, task_ok = ALLOWED_TRANSITIONS[action]
    if vm_state not in vm_ok:
        raise InvalidState(action, "vm_state", vm_state, uuid)
    if task_state not in task_ok:
        raise InvalidState(action, "task_state", task_state, uuid)
