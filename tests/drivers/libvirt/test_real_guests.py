"""Real guests under QEMU/TCG: the busybox guest from tools/build-test-guest.sh.

The guest prints NOVALITE-GUEST-UP <instance uuid> when its /init runs and
NOVALITE-GUEST-POWEROFF when the ACPI power button shuts it down, so the console log
tells a boot, a clean shutdown and a hard one apart. Waits are bounded polls, never
timing assertions.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from typing import Any, Callable

import pytest

from tests.drivers.libvirt.conftest import GUEST_IMAGE, REAL_URI, require_libvirt_python

libvirt = require_libvirt_python()

from novalite.drivers.base import FlavorSpec, ImageSpec, InstanceSpec  # noqa: E402
from novalite.drivers.libvirt import LibvirtDriver  # noqa: E402
from novalite.drivers.libvirt.config_xml import domain_name  # noqa: E402
from novalite.states import PowerState  # noqa: E402

pytestmark = pytest.mark.libvirt

UP = "NOVALITE-GUEST-UP"
CLEAN_OFF = "NOVALITE-GUEST-POWEROFF"
# Generous: one TCG boot takes a few seconds, more on a loaded CI machine.
BOOT_BOUND = 90.0


async def wait_for_console(driver: LibvirtDriver, inst: InstanceSpec, marker: str,
                           count: int) -> str:
    """Poll the console until `marker` appeared `count` times; fail with the log if not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOOT_BOUND
    output = ""
    while loop.time() < deadline:
        output = await driver.get_console_output(inst)
        if output.count(marker) >= count:
            return output
        await asyncio.sleep(0.25)
    pytest.fail(f"{marker} did not appear {count} time(s) within {BOOT_BOUND}s; console:\n"
                f"{output[-3000:]}")


async def boot(driver: LibvirtDriver, new_instance: Callable[..., InstanceSpec],
               **kwargs: Any) -> InstanceSpec:
    inst = new_instance(**kwargs)
    await driver.spawn(inst)
    output = await wait_for_console(driver, inst, UP, 1)
    # The uuid reached the guest through SMBIOS, as cloud-init would read it.
    assert f"{UP} {inst.uuid}" in output
    return inst


def virsh(*args: str) -> str:
    return subprocess.run(["virsh", "-c", REAL_URI, *args], capture_output=True, text=True,
                          check=True).stdout


async def test_boot_to_the_console_marker_and_read_the_config_drive(
        real_driver: LibvirtDriver, new_instance: Callable[..., InstanceSpec]) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOv0Nk5Zt2n4ZzZ8cQ9k0V1n8pXoQ5eS1Yb3Jt9a2mQr t@lab"
    script = b"#!/bin/sh\necho user-data-ran\n"
    inst = await boot(real_driver, new_instance, key_data=key,
                      user_data=base64.b64encode(script).decode())
    output = await wait_for_console(real_driver, inst, "NOVALITE-CONFIG-DRIVE-END", 1)
    drive = output.split("NOVALITE-CONFIG-DRIVE-BEGIN", 1)[1]
    assert key in drive  # the key pair reached the guest
    assert "echo user-data-ran" in drive
    assert await real_driver.get_power_state(inst) == PowerState.RUNNING
    assert (await real_driver.list_power_states())[inst.uuid] == PowerState.RUNNING
    assert virsh("domstate", domain_name(inst.uuid)).strip() == "running"


async def test_soft_then_hard_reboot(real_driver: LibvirtDriver,
                                     new_instance: Callable[..., InstanceSpec]) -> None:
    inst = await boot(real_driver, new_instance)
    await real_driver.reboot(inst, hard=False)
    output = await wait_for_console(real_driver, inst, UP, 2)
    assert output.count(CLEAN_OFF) == 1  # soft: the guest went down through ACPI
    await real_driver.reboot(inst, hard=True)
    output = await wait_for_console(real_driver, inst, UP, 3)
    assert output.count(CLEAN_OFF) == 1  # hard: the plug was pulled, no clean shutdown
    assert await real_driver.get_power_state(inst) == PowerState.RUNNING


async def test_power_off_is_clean_and_power_on_boots_again(
        real_driver: LibvirtDriver, new_instance: Callable[..., InstanceSpec]) -> None:
    inst = await boot(real_driver, new_instance)
    await real_driver.power_off(inst, timeout=60)
    assert await real_driver.get_power_state(inst) == PowerState.SHUTDOWN
    assert (await real_driver.get_console_output(inst)).count(CLEAN_OFF) == 1
    await real_driver.power_on(inst)
    await wait_for_console(real_driver, inst, UP, 2)
    assert await real_driver.get_power_state(inst) == PowerState.RUNNING


async def test_pause_and_suspend_round_trips(real_driver: LibvirtDriver,
                                             new_instance: Callable[..., InstanceSpec]) -> None:
    inst = await boot(real_driver, new_instance)
    await real_driver.pause(inst)
    assert await real_driver.get_power_state(inst) == PowerState.PAUSED
    await real_driver.unpause(inst)
    await real_driver.suspend(inst)
    assert await real_driver.get_power_state(inst) == PowerState.SUSPENDED
    assert virsh("domstate", domain_name(inst.uuid)).strip() == "shut off"
    await real_driver.resume(inst)
    assert await real_driver.get_power_state(inst) == PowerState.RUNNING
    # Restored from memory, not rebooted: still exactly one boot on the console.
    assert (await real_driver.get_console_output(inst)).count(UP) == 1


async def test_a_guest_destroyed_behind_our_back_is_listed_as_shutdown(
        real_driver: LibvirtDriver, new_instance: Callable[..., InstanceSpec]) -> None:
    inst = await boot(real_driver, new_instance)
    virsh("destroy", domain_name(inst.uuid))
    assert (await real_driver.list_power_states())[inst.uuid] == PowerState.SHUTDOWN


async def test_resize_to_a_bigger_flavor_then_confirm(
        real_driver: LibvirtDriver, new_instance: Callable[..., InstanceSpec]) -> None:
    inst = await boot(real_driver, new_instance)
    bigger = FlavorSpec(name="m1.bigger", vcpus=2, memory_mb=192, root_gb=2)
    info = await real_driver.migrate_disk_and_power_off(inst, real_driver.host, bigger)
    resized = inst.model_copy(update={"flavor": bigger})
    await real_driver.finish_migration(resized, info, power_on=True)
    await wait_for_console(real_driver, resized, UP, 2)  # the console history came along
    conn = libvirt.open(REAL_URI)
    try:
        _state, max_kib, _kib, vcpus, _cpu = conn.lookupByUUIDString(inst.uuid).info()
    finally:
        conn.close()
    assert (max_kib // 1024, vcpus) == (192, 2)
    await real_driver.confirm_migration(resized)
    assert not real_driver.resize_dir(inst.uuid).exists()


async def test_resize_then_revert(real_driver: LibvirtDriver,
                                  new_instance: Callable[..., InstanceSpec]) -> None:
    inst = await boot(real_driver, new_instance)
    bigger = FlavorSpec(name="m1.bigger", vcpus=2, memory_mb=192, root_gb=2)
    info = await real_driver.migrate_disk_and_power_off(inst, real_driver.host, bigger)
    resized = inst.model_copy(update={"flavor": bigger})
    await real_driver.finish_migration(resized, info, power_on=True)
    await real_driver.destroy(resized)  # the destination's part of a revert
    await real_driver.finish_revert_migration(inst, power_on=True)
    await wait_for_console(real_driver, inst, UP, 2)
    assert "memory unit='KiB'>131072<" in virsh("dumpxml", domain_name(inst.uuid))


async def test_destroy_leaves_no_domain_and_no_files(
        real_driver: LibvirtDriver, new_instance: Callable[..., InstanceSpec]) -> None:
    inst = await boot(real_driver, new_instance)
    await real_driver.destroy(inst)
    assert domain_name(inst.uuid) not in virsh("list", "--all", "--name").split()
    assert not real_driver.instance_dir(inst.uuid).exists()
    assert inst.uuid not in await real_driver.list_power_states()


async def test_guests_boot_side_by_side(real_driver: LibvirtDriver,
                                        new_instance: Callable[..., InstanceSpec]) -> None:
    # One libvirt connection shared by the driver's threads, one image cache for both.
    first, second = new_instance(), new_instance()
    await asyncio.gather(real_driver.spawn(first), real_driver.spawn(second))
    await asyncio.gather(wait_for_console(real_driver, first, UP, 1),
                         wait_for_console(real_driver, second, UP, 1))
    states = await real_driver.list_power_states()
    assert states == {first.uuid: PowerState.RUNNING, second.uuid: PowerState.RUNNING}


async def test_host_resources_of_this_machine(real_driver: LibvirtDriver) -> None:
    resources = await real_driver.get_host_resources()
    assert resources.hypervisor_type == "QEMU"
    assert resources.vcpus == os.cpu_count()
    assert resources.memory_mb > 0 and resources.local_gb > 0
    # Every x86-64 CPU has SSE2; the trait proves the feature mapping ran on real data.
    assert "HW_CPU_X86_SSE2" in resources.traits
    assert resources.cpu_info["arch"] == "x86_64"


async def test_a_guest_deaf_to_acpi_is_rebooted_and_stopped_the_hard_way(
        real_driver: LibvirtDriver, new_instance: Callable[..., InstanceSpec]) -> None:
    # acpi=off: the power button reaches nobody, so every clean shutdown times out.
    deaf = ImageSpec(id=GUEST_IMAGE,
                     properties={"os_command_line": "console=ttyS0 quiet panic=-1 acpi=off"})
    inst = await boot(real_driver, new_instance, image=deaf)
    real_driver.shutdown_timeout = 2.0
    await real_driver.reboot(inst, hard=False)
    await wait_for_console(real_driver, inst, UP, 2)
    await real_driver.power_off(inst, timeout=2.0)
    assert await real_driver.get_power_state(inst) == PowerState.SHUTDOWN
    assert CLEAN_OFF not in await real_driver.get_console_output(inst)
