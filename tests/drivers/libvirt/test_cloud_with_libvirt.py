"""A server through the Compute API on the libvirt driver: a real guest under TCG.

The rest of the lifecycle through the API (reboot, stop/start, resize, console) lands
with the server actions; the driver side of each is covered in test_real_guests.
"""

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
