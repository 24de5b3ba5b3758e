"""Servers through the Compute API on the libvirt driver: real guests under TCG."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from novalite.config import Settings
from novalite.context import RequestContext
from tests.conftest import client_for
from tests.drivers.libvirt.conftest import GUEST_IMAGE, REAL_URI, DomainJanitor, make_instance
from tests.drivers.libvirt.test_real_guests import UP, wait_for_console
from tests.support.compute import SERVERS, boot, wait_gone, wait_status

pytestmark = pytest.mark.libvirt


async def test_boot_power_sync_and_delete_through_the_api(
        cloud_factory: Callable[..., Any], settings_factory: Callable[..., Settings],
        guest_images: Path, janitor: DomainJanitor) -> None:
    host = f"libvirt-{uuid.uuid4().hex[:8]}"  # its own host: other runs share this libvirtd
    cloud = await cloud_factory(settings_factory(
        compute={"driver": "libvirt", "host": host},
        libvirt={"connection_uri": REAL_URI, "virt_type": "qemu",
                 "images_path": str(guest_images), "shutdown_timeout": 30}))
    manager = cloud.computes[0]
    async with client_for(cloud) as client:
        server_id = (await boot(client, name="real", imageRef=GUEST_IMAGE))["server"]["id"]
        janitor.uuids.append(server_id)
        server = await wait_status(client, server_id, "ACTIVE", "ERROR", timeout=90)
        assert server["status"] == "ACTIVE", server.get("fault")
        assert server["OS-EXT-SRV-ATTR:host"] == host

        spec = make_instance().model_copy(update={"uuid": server_id})
        await wait_for_console(manager.driver, spec, f"{UP} {server_id}", 1)

        # Behind novalite's back; the power sync notices and stops the server.
        domain = manager.driver._libvirt.lookup(server_id).name()
        subprocess.run(["virsh", "-c", REAL_URI, "destroy", domain], check=True,
                       capture_output=True)
        assert await manager.sync_power_states(RequestContext.admin()) == 1
        server = (await client.get(f"{SERVERS}/{server_id}")).json()["server"]
        assert (server["status"], server["OS-EXT-STS:power_state"]) == ("SHUTOFF", 4)

        assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
        await wait_gone(client, server_id, timeout=60)
    # The API forgets the server at once; the compute host destroys the guest right after.
    driver = manager.driver
    for _ in range(600):
        if driver._libvirt.lookup(server_id) is None and not driver.instance_dir(server_id).exists():
            break
        await asyncio.sleep(0.1)
    assert driver._libvirt.lookup(server_id) is None
    assert not driver.instance_dir(server_id).exists()


async def _console(client: Any, server_id: str) -> str:
    response = await client.post(f"{SERVERS}/{server_id}/action", json={"os-getConsoleOutput": {}})
    assert response.status_code == 200, response.text
    return response.json()["output"]


async def _wait_console_count(client: Any, server_id: str, marker: str, count: int) -> str:
    for _ in range(1200):  # bounded: TCG boots take seconds on a busy machine
        output = await _console(client, server_id)
        if output.count(marker) >= count:
            return output
        await asyncio.sleep(0.1)
    raise AssertionError(f"{marker!r} did not appear {count} times; console: {output[-2000:]}")


async def _action(client: Any, server_id: str, body: dict[str, Any], expect: int = 202) -> None:
    response = await client.post(f"{SERVERS}/{server_id}/action", json=body)
    assert response.status_code == expect, response.text


async def test_lifecycle_through_the_api_on_a_real_guest(
        cloud_factory: Callable[..., Any], settings_factory: Callable[..., Settings],
        guest_images: Path, janitor: DomainJanitor) -> None:
    """Console output, hard reboot, stop/start and a resize to a bigger flavor, all via the API."""
    host = f"libvirt-{uuid.uuid4().hex[:8]}"
    cloud = await cloud_factory(settings_factory(
        compute={"driver": "libvirt", "host": host, "allow_resize_to_same_host": True},
        libvirt={"connection_uri": REAL_URI, "virt_type": "qemu",
                 "images_path": str(guest_images), "shutdown_timeout": 30}))
    driver = cloud.computes[0].driver
    async with client_for(cloud) as client:
        server_id = (await boot(client, name="life", imageRef=GUEST_IMAGE))["server"]["id"]
        janitor.uuids.append(server_id)
        server = await wait_status(client, server_id, "ACTIVE", "ERROR", timeout=90)
        assert server["status"] == "ACTIVE", server.get("fault")
        marker = f"{UP} {server_id}"
        await _wait_console_count(client, server_id, marker, 1)

        await _action(client, server_id, {"reboot": {"type": "HARD"}})
        await wait_status(client, server_id, "ACTIVE", timeout=90)
        await _wait_console_count(client, server_id, marker, 2)

        await _action(client, server_id, {"os-stop": None})
        server = await wait_status(client, server_id, "SHUTOFF", timeout=90)
        assert server["OS-EXT-STS:power_state"] == 4
        assert driver._libvirt.lookup(server_id).isActive() == 0
        await _action(client, server_id, {"os-start": None})
        await wait_status(client, server_id, "ACTIVE", timeout=90)
        await _wait_console_count(client, server_id, marker, 3)

        await _action(client, server_id, {"resize": {"flavorRef": "2"}})
        server = await wait_status(client, server_id, "VERIFY_RESIZE", "ERROR", timeout=120)
        assert server["status"] == "VERIFY_RESIZE", server.get("fault")
        domain = driver._libvirt.lookup(server_id)
        assert domain.maxMemory() == 2048 * 1024
        await _action(client, server_id, {"confirmResize": None}, expect=204)
        server = await wait_status(client, server_id, "ACTIVE", timeout=60)
        assert server["flavor"]["original_name"] == "m1.small"

        assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
        await wait_gone(client, server_id, timeout=60)
    for _ in range(600):
        if driver._libvirt.lookup(server_id) is None:
            break
        await asyncio.sleep(0.1)
    assert driver._libvirt.lookup(server_id) is None
