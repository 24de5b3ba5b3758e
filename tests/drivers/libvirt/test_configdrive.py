"""The config drive: Nova's layout on an ISO9660 image labelled config-2."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.drivers.libvirt.conftest import make_instance, missing, require_libvirt_python

require_libvirt_python()

from novalite.drivers.base import DriverError  # noqa: E402
from novalite.drivers.libvirt import configdrive  # noqa: E402

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuM0KYQhx1u4GbY7rOj9XOdLrB4H2nHX5ukF0iwiVTw me@lab"


def test_meta_data_carries_identity_key_and_metadata() -> None:
    inst = make_instance(name="web-1", key_data=KEY, metadata={"role": "web"})
    data = configdrive.meta_data(inst)
    assert data["uuid"] == inst.uuid
    assert data["name"] == data["hostname"] == "web-1"
    assert data["public_keys"] == {"default": KEY}
    assert data["keys"] == [{"name": "default", "type": "ssh", "data": KEY}]
    assert data["meta"] == {"role": "web"}


def test_meta_data_without_a_key_has_no_keys() -> None:
    assert "public_keys" not in configdrive.meta_data(make_instance())


def test_user_data_is_decoded_from_base64_and_plain_text_kept() -> None:
    script = b"#!/bin/sh\necho hi\n"
    assert configdrive.user_data_bytes(base64.b64encode(script).decode()) == script
    assert configdrive.user_data_bytes("#cloud-config\n") == b"#cloud-config\n"


def iso_file(image: Path, path: str) -> str:
    return subprocess.run(["isoinfo", "-R", "-i", str(image), "-x", path],
                          capture_output=True, text=True, check=True).stdout


async def test_built_image_is_labelled_and_holds_the_files(tmp_path: Path) -> None:
    if shutil.which("genisoimage") is None or shutil.which("isoinfo") is None:
        missing("genisoimage (package genisoimage) is not installed")
    inst = make_instance(key_data=KEY, user_data=base64.b64encode(b"hello").decode())
    image = tmp_path / "disk.config"
    await configdrive.build(inst, image)
    header = subprocess.run(["isoinfo", "-d", "-i", str(image)], capture_output=True,
                            text=True, check=True).stdout
    assert "Volume id: config-2" in header
    meta = json.loads(iso_file(image, "/openstack/latest/meta_data.json"))
    assert meta["public_keys"]["default"] == KEY
    assert iso_file(image, "/openstack/latest/user_data") == "hello"
    assert list(tmp_path.iterdir()) == [image]  # the staging tree is gone


async def test_without_genisoimage_the_error_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DriverError, match="genisoimage is needed"):
        await configdrive.build(make_instance(), tmp_path / "disk.config")
