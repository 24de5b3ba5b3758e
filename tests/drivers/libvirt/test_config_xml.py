"""The domain XML a GuestConfig produces, parsed back and checked element by element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.drivers.libvirt.conftest import require_libvirt_python

require_libvirt_python()

from novalite.drivers.libvirt.config_xml import (  # noqa: E402
    NAMESPACE,
    GuestConfig,
    domain_name,
    domain_xml,
)

UUID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


def config(**changes: object) -> GuestConfig:
    base = GuestConfig(
        uuid=UUID, display_name="web-1", host="compute-1", virt_type="kvm", vcpus=2,
        memory_mb=512, flavor_name="m1.small", image_id="img-1",
        console_log="/srv/instances/x/console.log", disk="/srv/instances/x/disk",
    )
    return base.with_changes(**changes)


def parse(cfg: GuestConfig) -> ET.Element:
    return ET.fromstring(domain_xml(cfg))


def test_identity_size_and_metadata() -> None:
    dom = parse(config())
    assert dom.get("type") == "kvm"
    assert dom.findtext("name") == domain_name(UUID) == "instance-0f1e2d3c"
    assert dom.findtext("uuid") == UUID
    assert dom.findtext("title") == "web-1"
    memory = dom.find("memory")
    assert memory is not None and memory.get("unit") == "MiB" and memory.text == "512"
    assert dom.findtext("vcpu") == "2"
    ours = dom.find(f"metadata/{{{NAMESPACE}}}instance")
    assert ours is not None
    assert ours.findtext(f"{{{NAMESPACE}}}host") == "compute-1"
    assert ours.findtext(f"{{{NAMESPACE}}}name") == "web-1"
    flavor = ours.find(f"{{{NAMESPACE}}}flavor")
    assert flavor is not None and flavor.attrib == {"name": "m1.small", "vcpus": "2",
                                                    "memory_mb": "512"}
    serials = {e.get("name"): e.text for e in dom.findall("sysinfo/system/entry")}
    assert serials["serial"] == UUID and serials["uuid"] == UUID


def test_disk_boot_has_a_qcow2_virtio_disk_and_no_kernel() -> None:
    dom = parse(config(disk_cache="writeback"))
    assert dom.find("os/kernel") is None
    assert dom.find("os/boot").get("dev") == "hd"  # type: ignore[union-attr]
    disk = dom.find("devices/disk")
    assert disk is not None
    attrs = {child.tag: child.attrib for child in disk}
    assert attrs["driver"] == {"name": "qemu", "type": "qcow2", "cache": "writeback"}
    assert attrs["source"] == {"file": "/srv/instances/x/disk"}
    assert attrs["target"] == {"dev": "vda", "bus": "virtio"}


def test_config_drive_is_a_read_only_second_disk() -> None:
    dom = parse(config(config_drive="/srv/instances/x/disk.config"))
    drive = dom.findall("devices/disk")[1]
    attrs = {child.tag: child.attrib for child in drive}
    assert attrs["driver"]["type"] == "raw"
    assert attrs["source"] == {"file": "/srv/instances/x/disk.config"}
    assert attrs["target"] == {"dev": "vdb", "bus": "virtio"}
    assert "readonly" in attrs


def test_kernel_boot_without_disk() -> None:
    dom = parse(config(disk=None, kernel="/i/kernel", ramdisk="/i/ramdisk",
                       cmdline="console=ttyS0"))
    assert dom.findtext("os/kernel") == "/i/kernel"
    assert dom.findtext("os/initrd") == "/i/ramdisk"
    assert dom.findtext("os/cmdline") == "console=ttyS0"
    assert dom.find("os/boot") is None
    assert dom.find("devices/disk") is None


def test_serial_console_is_logged_to_the_instance_file_and_acpi_is_on() -> None:
    dom = parse(config())
    serial = dom.find("devices/serial")
    assert serial is not None and serial.get("type") == "pty"
    log = serial.find("log")
    assert log is not None and log.attrib == {"file": "/srv/instances/x/console.log",
                                              "append": "on"}
    assert dom.find("devices/console/target").get("type") == "serial"  # type: ignore[union-attr]
    assert dom.find("features/acpi") is not None


@pytest.mark.parametrize(
    ("virt_type", "cpu_mode", "expected"),
    [
        ("kvm", "host-model", "host-model"),
        ("kvm", "host-passthrough", "host-passthrough"),
        ("qemu", "host-model", "host-model"),
        ("qemu", "host-passthrough", "maximum"),  # TCG cannot pass the host CPU through
        ("qemu", "custom", "custom"),
        ("kvm", "none", None),
    ],
)
def test_cpu_mode(virt_type: str, cpu_mode: str, expected: str | None) -> None:
    dom = parse(config(virt_type=virt_type, cpu_mode=cpu_mode))
    assert dom.get("type") == virt_type
    cpu = dom.find("cpu")
    assert (cpu.get("mode") if cpu is not None else None) == expected
    if expected == "custom":
        assert cpu is not None and cpu.findtext("model") == "qemu64"


def test_config_round_trips_and_rebases(tmp_path: Path) -> None:
    cfg = config(disk=str(tmp_path / "a" / "disk"), console_log=str(tmp_path / "a" / "console.log"),
                 kernel="/elsewhere/kernel")
    (tmp_path / "a").mkdir()
    cfg.save(tmp_path / "a")
    loaded = GuestConfig.load(tmp_path / "a")
    assert loaded == cfg
    moved = loaded.rebased(tmp_path / "a", tmp_path / "b")
    assert moved.disk == str(tmp_path / "b" / "disk")
    assert moved.console_log == str(tmp_path / "b" / "console.log")
    assert moved.kernel == "/elsewhere/kernel"  # outside the directory: unchanged
