"""Domain XML for one guest, built from a plain description of it.

`GuestConfig` is everything the XML depends on, so the same guest can be re-described
after a resize (new vCPUs and memory, same files) without asking the image again; it is
saved beside the disks as JSON for that reason.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Our element in the domain's <metadata>: it marks domains novalite owns and says which
# compute host owns them (several compute hosts may share one libvirtd in a lab).
NAMESPACE = "https://novalite.dev/xmlns/libvirt/instance/1"
NS_PREFIX = "novalite"

CONFIG_FILE = "guest.json"


def domain_name(uuid: str) -> str:
    """The libvirt name; a label for people (`virsh list`), lookups always go by UUID."""
    return f"instance-{uuid.split('-')[0]}"


@dataclass(frozen=True)
class GuestConfig:
    uuid: str
    display_name: str
    host: str
    virt_type: str  # "kvm" or "qemu" (TCG), the <domain type>
    vcpus: int
    memory_mb: int
    flavor_name: str
    image_id: str
    console_log: str
    cpu_mode: str = "host-model"
    disk: str | None = None
    disk_format: str = "qcow2"
    disk_cache: str = "none"
    config_drive: str | None = None
    kernel: str | None = None
    ramdisk: str | None = None
    cmdline: str | None = None

    @property
    def name(self) -> str:
        return domain_name(self.uuid)

    def with_changes(self, **changes: Any) -> GuestConfig:
        return dataclasses.replace(self, **changes)

    def rebased(self, old_dir: Path, new_dir: Path) -> GuestConfig:
        """The same guest with its instance files moved from `old_dir` to `new_dir`."""

        def move(path: str | None) -> str | None:
            if path is None or not Path(path).is_relative_to(old_dir):
                return path
            return str(new_dir / Path(path).relative_to(old_dir))

        return self.with_changes(console_log=move(self.console_log), disk=move(self.disk),
                                 kernel=move(self.kernel), ramdisk=move(self.ramdisk),
                                 config_drive=move(self.config_drive))

    def save(self, directory: Path) -> None:
        (directory / CONFIG_FILE).write_text(json.dumps(dataclasses.asdict(self), indent=2))

    @classmethod
    def load(cls, directory: Path) -> GuestConfig:
        return cls(**json.loads((directory / CONFIG_FILE).read_text()))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _metadata(domain: ET.Element, cfg: GuestConfig) -> None:
    ours = _sub(_sub(domain, "metadata"), f"{NS_PREFIX}:instance",
                **{f"xmlns:{NS_PREFIX}": NAMESPACE})
    _sub(ours, f"{NS_PREFIX}:name", cfg.display_name)
    _sub(ours, f"{NS_PREFIX}:host", cfg.host)
    _sub(ours, f"{NS_PREFIX}:flavor", name=cfg.flavor_name, vcpus=str(cfg.vcpus),
         memory_mb=str(cfg.memory_mb))
    _sub(ours, f"{NS_PREFIX}:image", id=cfg.image_id)


def _os(domain: ET.Element, cfg: GuestConfig) -> None:
    os_el = _sub(domain, "os")
    _sub(os_el, "type", "hvm", arch="x86_64", machine="pc")
    if cfg.kernel:
        _sub(os_el, "kernel", cfg.kernel)
        if cfg.ramdisk:
            _sub(os_el, "initrd", cfg.ramdisk)
        if cfg.cmdline:
            _sub(os_el, "cmdline", cfg.cmdline)
    else:
        _sub(os_el, "boot", dev="hd")
    # The guest reads its instance UUID from SMBIOS, as cloud-init does under Nova.
    _sub(os_el, "smbios", mode="sysinfo")


def _sysinfo(domain: ET.Element, cfg: GuestConfig) -> None:
    system = _sub(_sub(domain, "sysinfo", type="smbios"), "system")
    for key, value in (("manufacturer", "novalite"), ("product", "novalite compute"),
                       ("serial", cfg.uuid), ("uuid", cfg.uuid), ("family", "Virtual Machine")):
        _sub(system, "entry", value, name=key)


def _cpu(domain: ET.Element, cfg: GuestConfig) -> None:
    mode = cfg.cpu_mode
    if mode == "none":
        return
    # TCG cannot pass the host CPU through; "maximum" is everything TCG can emulate.
    # (host-model works under TCG: libvirt picks the model from TCG's capabilities.)
    if cfg.virt_type == "qemu" and mode == "host-passthrough":
        mode = "maximum"
    if mode == "custom":
        # There is no cpu_models option yet: "custom" means QEMU's baseline x86-64 model,
        # which any host can run (a migration target too).
        cpu = _sub(domain, "cpu", mode="custom", match="exact")
        _sub(cpu, "model", "qemu64", fallback="allow")
    else:
        _sub(domain, "cpu", mode=mode)


def _devices(domain: ET.Element, cfg: GuestConfig) -> None:
    devices = _sub(domain, "devices")
    if cfg.disk:
        disk = _sub(devices, "disk", type="file", device="disk")
        _sub(disk, "driver", name="qemu", type=cfg.disk_format, cache=cfg.disk_cache)
        _sub(disk, "source", file=cfg.disk)
        _sub(disk, "target", dev="vda", bus="virtio")
    if cfg.config_drive:
        # Nova attaches an IDE CD-ROM; a read-only virtio disk serves as well (agents look
        # for the label) and needs no guest driver beyond virtio, which the root disk needs.
        drive = _sub(devices, "disk", type="file", device="disk")
        _sub(drive, "driver", name="qemu", type="raw", cache=cfg.disk_cache)
        _sub(drive, "source", file=cfg.config_drive)
        _sub(drive, "target", dev="vdb", bus="virtio")
        _sub(drive, "readonly")
    # A pty for `virsh console`, logged by virtlogd to a file for get_console_output;
    # append keeps the history across reboots, as a console log should.
    serial = _sub(devices, "serial", type="pty")
    _sub(serial, "log", file=cfg.console_log, append="on")
    _sub(serial, "target", port="0")
    console = _sub(devices, "console", type="pty")
    _sub(console, "target", type="serial", port="0")
    _sub(devices, "memballoon", model="virtio")


def domain_xml(cfg: GuestConfig) -> str:
    domain = ET.Element("domain", type=cfg.virt_type)
    _sub(domain, "name", cfg.name)
    _sub(domain, "uuid", cfg.uuid)
    _sub(domain, "title", cfg.display_name)
    _metadata(domain, cfg)
    _sub(domain, "memory", str(cfg.memory_mb), unit="MiB")
    _sub(domain, "currentMemory", str(cfg.memory_mb), unit="MiB")
    _sub(domain, "vcpu", str(cfg.vcpus))
    _sysinfo(domain, cfg)
    _os(domain, cfg)
    features = _sub(domain, "features")
    _sub(features, "acpi")  # the power button: clean shutdown and soft reboot need it
    _sub(features, "apic")
    _cpu(domain, cfg)
    _sub(domain, "clock", offset="utc")
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    _devices(domain, cfg)
    ET.indent(domain)
    return ET.tostring(domain, encoding="unicode")
