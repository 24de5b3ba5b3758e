"""Fixtures for the libvirt driver: the test:///default driver, and real guests under TCG.

What is missing (libvirt-python, libvirtd, QEMU, the guest build) skips the tests that
need it with its name; with CI=true it fails them, so a green CI ran real guests.
`tools/install-libvirt.sh` installs and starts everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import pytest

from novalite.config import Settings
from novalite.drivers.base import FlavorSpec, ImageSpec, InstanceSpec

REPO = Path(__file__).resolve().parents[3]
REAL_URI = "qemu:///system"
GUEST_IMAGE = "novalite-test-guest"
GUEST_DIR = Path(os.environ.get("NOVALITE_TEST_GUEST_DIR", "/var/tmp/novalite-test-guest"))


def missing(what: str) -> None:
    message = f"{what} (run tools/install-libvirt.sh .venv as root)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}, and CI=true requires it", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_libvirt_python() -> Any:
    try:
        import libvirt
    except ImportError:
        missing("libvirt-python is not installed")
    return libvirt


def require_qemu_img() -> None:
    if shutil.which("qemu-img") is None:
        missing("qemu-img (package qemu-utils) is not installed")


def settings(tmp_path: Path, uri: str, **libvirt_options: Any) -> Settings:
    return Settings(service={"data_dir": tmp_path},
                    libvirt={"connection_uri": uri, **libvirt_options})


def make_instance(flavor: FlavorSpec | None = None, image: ImageSpec | None = None,
                  name: str = "guest", **fields: Any) -> InstanceSpec:
    return InstanceSpec(
        uuid=str(uuid.uuid4()),
        name=name,
        flavor=flavor or FlavorSpec(name="m1.tiny", vcpus=1, memory_mb=128, root_gb=1),
        image=image or ImageSpec(id=GUEST_IMAGE),
        **fields,
    )


class DomainJanitor:
    """Every instance a test creates, destroyed and undefined afterwards, whatever happened."""

    def __init__(self, uri: str):
        self.uri = uri
        self.uuids: list[str] = []

    def track(self, instance: InstanceSpec) -> InstanceSpec:
        self.uuids.append(instance.uuid)
        return instance

    def sweep(self) -> list[str]:
        """Remove the tracked domains; the names of those that were still there."""
        libvirt = require_libvirt_python()
        conn = libvirt.open(self.uri)
        leftovers = []
        try:
            for uuid_ in self.uuids:
                try:
                    dom = conn.lookupByUUIDString(uuid_)
                except libvirt.libvirtError:
                    continue
                leftovers.append(dom.name())
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        finally:
            conn.close()
        return leftovers


@pytest.fixture
def test_images(tmp_path: Path) -> Path:
    """An images directory for the test driver: a kernel-boot image and a disk image."""
    require_qemu_img()
    images = tmp_path / "images"
    images.mkdir()
    (images / "tiny.kernel").write_bytes(b"not really a kernel")
    (images / "tiny.initramfs").write_bytes(b"not really an initramfs")
    (images / "tiny.json").write_text(
        '{"id": "11111111-2222-4333-8444-555555555555", "name": "tiny",'
        ' "properties": {"os_command_line": "console=ttyS0"}}')
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(images / "disky.qcow2"),
                    "512M"], check=True)
    return images


@pytest.fixture
async def test_driver(tmp_path: Path, test_images: Path) -> AsyncIterator[Any]:
    """A LibvirtDriver on libvirt's built-in test hypervisor (no QEMU involved).

    The test driver's state lives as long as a connection to it is open, so the domains
    a test left are removed through the driver's own connection before it closes.
    """
    libvirt = require_libvirt_python()
    from novalite.drivers.libvirt import LibvirtDriver

    driver = LibvirtDriver("test-host", settings(tmp_path, "test:///default",
                                                 images_path=test_images, shutdown_timeout=5))
    await driver.init_host()
    yield driver
    for _uuid, dom in driver._libvirt.owned_domains(driver.host):
        if dom.isActive():
            dom.destroy()
        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
    await driver.cleanup_host()


# -- real guests ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def guest_images() -> Path:
    """The tiny busybox guest, built once into a cache directory shared by test runs."""
    libvirt = require_libvirt_python()
    for tool, package in (("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils")):
        if shutil.which(tool) is None:
            missing(f"{tool} (package {package}) is not installed")
    try:
        libvirt.open(REAL_URI).close()
    except libvirt.libvirtError as exc:
        missing(f"libvirtd is not reachable at {REAL_URI}: {exc.get_error_message()}")
    result = subprocess.run([str(REPO / "tools" / "build-test-guest.sh"), str(GUEST_DIR)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        missing(f"the test guest could not be built: {result.stderr.strip()[-500:]}")
    return GUEST_DIR


@pytest.fixture
def janitor() -> Iterator[DomainJanitor]:
    janitor = DomainJanitor(REAL_URI)
    yield janitor
    janitor.sweep()


@pytest.fixture
async def real_driver(tmp_path: Path, guest_images: Path,
                      janitor: DomainJanitor) -> AsyncIterator[Any]:
    from novalite.drivers.libvirt import LibvirtDriver

    # A host name of its own: concurrent test runs share this machine's libvirtd, and
    # list_power_states must show each run only its own guests.
    host = f"real-host-{uuid.uuid4().hex[:8]}"
    # TCG: nested KVM fails on the CI machine ("KVM internal error ... emulation failure").
    driver = LibvirtDriver(host, settings(tmp_path, REAL_URI, virt_type="qemu",
                                                 images_path=guest_images,
                                                 shutdown_timeout=30))
    await driver.init_host()
    yield driver
    await driver.cleanup_host()


@pytest.fixture
def new_instance(janitor: DomainJanitor) -> Callable[..., InstanceSpec]:
    return lambda **kwargs: janitor.track(make_instance(**kwargs))
