"""The config drive: how the key pair, user data and metadata reach the guest.

With no metadata service, a small ISO9660 disk labelled `config-2` in the layout Nova
writes (`openstack/latest/meta_data.json`, `user_data`, ...) is what cloud-init and
similar agents read. It is built with genisoimage, as Nova does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from novalite.drivers.base import DriverError, InstanceSpec
from novalite.drivers.libvirt.images import run

LABEL = "config-2"
FILE_NAME = "disk.config"


def meta_data(instance: InstanceSpec) -> dict[str, Any]:
    hostname = instance.hostname or instance.name
    data: dict[str, Any] = {
        "uuid": instance.uuid,
        "name": instance.name,
        "hostname": hostname,
        "launch_index": 0,
        "meta": dict(instance.metadata),
        "devices": [],
    }
    if instance.key_data:
        # InstanceSpec carries the key but not its name; agents use the data only.
        key_name = instance.key_name or "default"
        data["public_keys"] = {key_name: instance.key_data}
        data["keys"] = [{"name": key_name, "type": "ssh", "data": instance.key_data}]
    return data


def user_data_bytes(user_data: str) -> bytes:
    """User data as the guest should see it: the API and database keep it base64."""
    try:
        return base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        return user_data.encode()


def _write_tree(instance: InstanceSpec, root: Path) -> None:
    latest = root / "openstack" / "latest"
    latest.mkdir(parents=True)
    (latest / "meta_data.json").write_text(json.dumps(meta_data(instance)))
    (latest / "network_data.json").write_text(
        json.dumps({"links": [], "networks": [], "services": []}))
    (latest / "vendor_data.json").write_text("{}")
    if instance.user_data:
        (latest / "user_data").write_bytes(user_data_bytes(instance.user_data))


async def build(instance: InstanceSpec, target: Path) -> None:
    """Write the config drive image for `instance` to `target`."""
    if shutil.which("genisoimage") is None:
        raise DriverError("genisoimage is needed to build config drives "
                          "(tools/install-libvirt.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="configdrive-", dir=target.parent) as tmp:
        await asyncio.to_thread(_write_tree, instance, Path(tmp))
        await run("genisoimage", "-o", str(target), "-ldots", "-allow-lowercase",
                  "-allow-multidot", "-l", "-publisher", "novalite", "-quiet", "-J", "-r",
                  "-V", LABEL, tmp)
