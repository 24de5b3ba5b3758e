"""The API status Nova derives from vm_state and task_state, and the per-action state checks."""

from __future__ import annotations

import pytest

from novalite.states import InvalidState, TaskState, VmState, check_state, status_from_state, vm_states_for_status


@pytest.mark.parametrize("vm_state,task_state,status", [
    (VmState.BUILDING, TaskState.SCHEDULING, "BUILD"),
    (VmState.ACTIVE, None, "ACTIVE"),
    (VmState.ACTIVE, TaskState.REBOOTING, "REBOOT"),
    (VmState.ACTIVE, TaskState.REBOOTING_HARD, "HARD_REBOOT"),
    (VmState.ACTIVE, TaskState.RESIZE_PREP, "RESIZE"),
    (VmState.ACTIVE, TaskState.DELETING, "ACTIVE"),
    (VmState.STOPPED, None, "SHUTOFF"),
    (VmState.RESIZED, None, "VERIFY_RESIZE"),
    (VmState.RESIZED, TaskState.RESIZE_REVERTING, "REVERT_RESIZE"),
    (VmState.ERROR, None, "ERROR"),
    (VmState.ERROR, TaskState.REBUILDING, "REBUILD"),
    ("made-up", None, "UNKNOWN"),
])
def test_status_mapping(vm_state, task_state, status):
    assert status_from_state(vm_state, task_state) == status


def test_status_filter_maps_back_to_vm_states():
    assert vm_states_for_status("shutoff") == [VmState.STOPPED]
    assert vm_states_for_status("nope") == []


def test_wrong_state_names_the_blocking_state():
    check_state("start", "u", VmState.STOPPED, None)
    with pytest.raises(InvalidState, match="vm_state active"):
        check_state("start", "u", VmState.ACTIVE, None)
    with pytest.raises(InvalidState, match="task_state deleting"):
        check_state("reboot", "u", VmState.ACTIVE, TaskState.DELETING)
    check_state("delete", "u", VmState.ACTIVE, TaskState.DELETING)  # a repeat delete is accepted
