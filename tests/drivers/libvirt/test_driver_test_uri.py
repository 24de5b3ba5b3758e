"""The driver's calls against libvirt's built-in test hypervisor (test:///default).

The test hypervisor runs nothing: guests change state instantly and shut down on the
first request, which is what makes these tests fast and exact.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.drivers.libvirt.conftest import make_instance, require_libvirt_python, settings

libvirt = require_libvirt_python()

from novalite.drivers.base import (  # noqa: E402
    DriverError,
    FlavorSpec,
    ImageSpec,
    MigrationDiskInfo,
)
from novalite.drivers.libvirt import LibvirtDriver  # noqa: E402
from novalite.drivers.libvirt.config_xml import domain_name  # noqa: E402
from novalite.states import PowerState  # noqa: E402

KERNEL_IMAGE = ImageSpec(id="11111111-2222-4333-8444-555555555555")
DISK_IMAGE = ImageSpec(id="disky")


def domain(driver: LibvirtDriver, uuid: str) -> Any:
    return driver._libvirt.connect().lookupByUUIDString(uuid)


def domain_tree(driver: LibvirtDriver, uuid: str) -> ET.Element:
    return ET.fromstring(domain(driver, uuid).XMLDesc(0))


async def test_spawn_defines_and_starts_a_kernel_boot_guest(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    directory = test_driver.instance_dir(inst.uuid)
    tree = domain_tree(test_driver, inst.uuid)
    assert tree.findtext("name") == domain_name(inst.uuid)
    assert tree.findtext("os/kernel") == str(directory / "kernel")
    assert tree.findtext("os/cmdline") == "console=ttyS0"
    assert (directory / "kernel").read_bytes() == b"not really a kernel"
    # root_gb=1: a blank qcow2 root disk even though the guest boots from its kernel
    source = tree.find("devices/disk/source")
    assert source is not None and source.get("file") == str(directory / "disk")
    drive = tree.findall("devices/disk/source")[1]
    assert drive.get("file") == str(directory / "disk.config")
    assert (directory / "disk.config").stat().st_size > 0
    assert domain(test_driver, inst.uuid).isPersistent()
    assert await test_driver.get_power_state(inst) == PowerState.RUNNING


async def test_spawn_from_a_disk_image_makes_an_overlay_on_the_cached_base(
        test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=DISK_IMAGE)
    await test_driver.spawn(inst)
    disk = test_driver.instance_dir(inst.uuid) / "disk"
    info = subprocess.run(["qemu-img", "info", "--output=json", str(disk)],
                          capture_output=True, text=True, check=True).stdout
    assert '"backing-filename-format": "qcow2"' in info
    assert str(test_driver.instances_path / "_base") in info
    assert '"virtual-size": 1073741824' in info  # grown from 512M to the flavor's 1 GB


async def test_list_power_states_follows_every_action(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    states = await test_driver.list_power_states()
    # only our domains: the test hypervisor's own "test" domain is not listed
    assert states == {inst.uuid: PowerState.RUNNING}
    for action, expected in [
        (test_driver.pause, PowerState.PAUSED),
        (test_driver.unpause, PowerState.RUNNING),
        (test_driver.suspend, PowerState.SUSPENDED),
        (test_driver.resume, PowerState.RUNNING),
        (test_driver.power_off, PowerState.SHUTDOWN),
        (test_driver.power_on, PowerState.RUNNING),
    ]:
        await action(inst)
        assert (await test_driver.list_power_states())[inst.uuid] == expected, action.__name__


@pytest.mark.parametrize("hard", [False, True])
async def test_reboot_leaves_the_guest_running(test_driver: LibvirtDriver, hard: bool) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    await test_driver.reboot(inst, hard=hard)
    assert await test_driver.get_power_state(inst) == PowerState.RUNNING


async def test_reboot_of_a_stopped_guest_starts_it(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    await test_driver.power_off(inst, timeout=0)
    await test_driver.reboot(inst, hard=False)
    assert await test_driver.get_power_state(inst) == PowerState.RUNNING


async def test_power_off_of_a_suspended_guest_drops_its_saved_memory(
        test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    await test_driver.suspend(inst)
    await test_driver.power_off(inst)
    assert await test_driver.get_power_state(inst) == PowerState.SHUTDOWN
    assert not domain(test_driver, inst.uuid).hasManagedSaveImage(0)


async def test_destroy_removes_domain_and_files_and_is_idempotent(
        test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    await test_driver.suspend(inst)  # a managed save image must not block the undefine
    await test_driver.destroy(inst)
    assert inst.uuid not in await test_driver.list_power_states()
    assert await test_driver.get_power_state(inst) == PowerState.NOSTATE
    assert not test_driver.instance_dir(inst.uuid).exists()
    await test_driver.destroy(inst)  # already gone: not an error
    await test_driver.destroy(make_instance())  # never existed: not an error either


async def test_spawn_of_a_missing_image_leaves_nothing(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=ImageSpec(id="no-such-image"))
    with pytest.raises(DriverError, match="no-such-image not found"):
        await test_driver.spawn(inst)
    assert not test_driver.instance_dir(inst.uuid).exists()
    assert await test_driver.list_power_states() == {}


async def test_spawn_with_a_root_disk_smaller_than_the_image_leaves_nothing(
        test_driver: LibvirtDriver, test_images: Path) -> None:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(test_images / "big.qcow2"),
                    "2G"], check=True)
    inst = make_instance(image=ImageSpec(id="big"))
    with pytest.raises(DriverError, match="smaller than image big"):
        await test_driver.spawn(inst)
    assert not test_driver.instance_dir(inst.uuid).exists()


async def test_spawn_refused_by_libvirt_leaves_nothing_and_spares_the_other_domain(
        test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    # Another domain already holds the name this instance's domain would get.
    other = test_driver._libvirt.connect().defineXML(
        f"<domain type='test'><name>{domain_name(inst.uuid)}</name><memory>1024</memory>"
        "<os><type>hvm</type></os></domain>")
    try:
        with pytest.raises(DriverError, match=f"Could not spawn instance {inst.uuid}"):
            await test_driver.spawn(inst)
        assert not test_driver.instance_dir(inst.uuid).exists()
        assert await test_driver.get_power_state(inst) == PowerState.NOSTATE
        assert other.isPersistent()  # still defined
    finally:
        other.undefine()


async def test_spawn_twice_is_refused_without_touching_the_first(
        test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    with pytest.raises(DriverError, match="already has a domain"):
        await test_driver.spawn(inst)
    assert await test_driver.get_power_state(inst) == PowerState.RUNNING
    assert (test_driver.instance_dir(inst.uuid) / "kernel").exists()


async def test_actions_on_an_unknown_instance_say_so(test_driver: LibvirtDriver) -> None:
    inst = make_instance()
    for action in (test_driver.power_on, test_driver.pause, test_driver.suspend,
                   test_driver.get_console_output):
        with pytest.raises(DriverError, match=f"instance {inst.uuid}"):
            await action(inst)


async def test_console_output_is_the_tail_of_the_log(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    assert await test_driver.get_console_output(inst) == ""  # nothing written yet
    log = test_driver.instance_dir(inst.uuid) / "console.log"
    log.write_bytes(b"x" * 200_000 + b"\nlast line \xff\n")
    output = await test_driver.get_console_output(inst)
    assert output.endswith("last line \ufffd\n")
    assert len(output.encode()) <= 100 * 1024 + 2


async def test_host_resources_and_usage(test_driver: LibvirtDriver) -> None:
    before = await test_driver.get_host_resources()
    assert (before.vcpus, before.memory_mb) == (16, 3072)  # the test hypervisor's host
    assert before.hypervisor_type == "TEST"
    assert before.local_gb > 0
    assert (before.vcpus_used, before.memory_mb_used) == (0, 0)
    await test_driver.spawn(make_instance(image=KERNEL_IMAGE,
                                          flavor=FlavorSpec(name="f", vcpus=2, memory_mb=256)))
    after = await test_driver.get_host_resources()
    assert (after.vcpus_used, after.memory_mb_used) == (2, 256)


async def test_two_hosts_on_one_libvirtd_see_only_their_own_guests(
        test_driver: LibvirtDriver, tmp_path: Path, test_images: Path) -> None:
    other = LibvirtDriver("other-host", settings(tmp_path / "other", "test:///default",
                                                 images_path=test_images))
    await other.init_host()
    mine, theirs = make_instance(image=KERNEL_IMAGE), make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(mine)
    await other.spawn(theirs)
    try:
        assert set(await test_driver.list_power_states()) == {mine.uuid}
        assert set(await other.list_power_states()) == {theirs.uuid}
    finally:
        await other.destroy(theirs)
        await other.cleanup_host()


def memory_and_vcpus(driver: LibvirtDriver, uuid: str) -> tuple[int, int]:
    _state, max_kib, _kib, vcpus, _cpu = domain(driver, uuid).info()
    return max_kib // 1024, vcpus


async def test_resize_then_confirm(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=DISK_IMAGE)
    await test_driver.spawn(inst)
    bigger = FlavorSpec(name="m1.big", vcpus=2, memory_mb=256, root_gb=2)
    info = await test_driver.migrate_disk_and_power_off(inst, test_driver.host, bigger)
    assert await test_driver.list_power_states() == {}  # handed over: undefined here
    kept = test_driver.resize_dir(inst.uuid)
    assert (kept / "disk").exists()
    resized = inst.model_copy(update={"flavor": bigger})
    await test_driver.finish_migration(resized, info, power_on=True)
    assert memory_and_vcpus(test_driver, inst.uuid) == (256, 2)
    assert await test_driver.get_power_state(resized) == PowerState.RUNNING
    disk = test_driver.instance_dir(inst.uuid) / "disk"
    size = subprocess.run(["qemu-img", "info", "--output=json", str(disk)],
                          capture_output=True, text=True, check=True).stdout
    assert '"virtual-size": 2147483648' in size
    await test_driver.confirm_migration(resized)
    assert not kept.exists()


async def test_resize_then_revert_brings_the_original_back(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    bigger = FlavorSpec(name="m1.big", vcpus=2, memory_mb=256, root_gb=1)
    info = await test_driver.migrate_disk_and_power_off(inst, test_driver.host, bigger)
    resized = inst.model_copy(update={"flavor": bigger})
    await test_driver.finish_migration(resized, info, power_on=True)
    # As the compute manager does on revert: the destination destroys its guest first.
    await test_driver.destroy(resized)
    await test_driver.finish_revert_migration(inst, power_on=False)
    assert memory_and_vcpus(test_driver, inst.uuid) == (128, 1)
    assert await test_driver.get_power_state(inst) == PowerState.SHUTDOWN
    assert not test_driver.resize_dir(inst.uuid).exists()
    assert (test_driver.instance_dir(inst.uuid) / "kernel").exists()


async def test_resize_down_is_refused_before_anything_happens(test_driver: LibvirtDriver) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    await test_driver.spawn(inst)
    smaller = FlavorSpec(name="m1.small", vcpus=1, memory_mb=128, root_gb=0)
    with pytest.raises(DriverError, match="down from 1 GB to 0 GB"):
        await test_driver.migrate_disk_and_power_off(inst, test_driver.host, smaller)
    assert await test_driver.get_power_state(inst) == PowerState.RUNNING


async def test_finish_migration_without_the_kept_disks_explains_why(
        test_driver: LibvirtDriver, tmp_path: Path) -> None:
    inst = make_instance(image=KERNEL_IMAGE)
    info = MigrationDiskInfo(source_host="elsewhere",
                             data={"resize_dir": str(tmp_path / "not-here")})
    with pytest.raises(DriverError, match="shared instances_path"):
        await test_driver.finish_migration(inst, info, power_on=True)
    assert await test_driver.get_power_state(inst) == PowerState.NOSTATE
