"""The real `openstack` CLI (with osc-placement) against an all-in-one cloud with identity.

Every command runs at the client's default microversion negotiation, through the
clouds.yaml the all-in-one wrote.
"""

from __future__ import annotations

import hashlib
import json
import re
import time

import pytest

from tests.clients.conftest import ClientCloud

@pytest.fixture(scope="module")
def image(identity_cloud: ClientCloud, image_file) -> dict:
    return identity_cloud.json("image", "create", "--file", str(image_file), "--disk-format", "raw",
                               "--container-format", "bare", "cli-image")


@pytest.fixture(scope="module")
def server(identity_cloud: ClientCloud, image: dict) -> dict:
    return identity_cloud.json("server", "create", "--flavor", "m1.tiny", "--image", "cli-image", "--nic", "none",
                               "--wait", "cli-vm")


def test_generated_password_is_shown_once_and_is_the_one_in_clouds_yaml(identity_cloud: ClientCloud):
    shown = re.findall(r"generated password (\S+)", identity_cloud.process.log_text())
    clouds = json.loads(identity_cloud.clouds_yaml.read_text().split("\n", 1)[1])
    assert shown == [clouds["clouds"]["novalite"]["auth"]["password"]]
    assert identity_cloud.clouds_yaml.stat().st_mode & 0o077 == 0
    token = identity_cloud.json("token", "issue")
    assert token["project_id"] and token["user_id"] and token["expires"]


def test_flavor_create_and_list(identity_cloud: ClientCloud):
    created = identity_cloud.json("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "cli.small")
    assert created["name"] == "cli.small"
    assert "cli.small" in {f["Name"] for f in identity_cloud.json("flavor", "list")}


def test_image_create_from_file_and_list(identity_cloud: ClientCloud, image: dict, image_file):
    assert image["status"] == "active"
    assert image["checksum"] == hashlib.md5(image_file.read_bytes()).hexdigest()
    assert image["size"] == image_file.stat().st_size
    listed = identity_cloud.json("image", "list")
    assert {"ID": image["id"], "Name": "cli-image", "Status": "active"} in listed
    shown = identity_cloud.json("image", "show", "cli-image")
    assert shown["id"] == image["id"]


def test_server_create_list_show_and_events(identity_cloud: ClientCloud, server: dict, image: dict):
    assert server["status"] == "ACTIVE"
    listed = identity_cloud.json("server", "list")
    (row,) = [s for s in listed if s["ID"] == server["id"]]
    assert row["Status"] == "ACTIVE" and row["Image"] == "cli-image" and row["Flavor"] == "m1.tiny"
    shown = identity_cloud.json("server", "show", server["id"])
    assert shown["name"] == "cli-vm" and image["id"] in json.dumps(shown["image"])
    events = identity_cloud.json("server", "event", "list", server["id"])
    assert [e["Action"] for e in events] == ["create"]


def test_server_create_with_an_unknown_image_fails_cleanly(identity_cloud: ClientCloud):
    result = identity_cloud.run("server", "create", "--flavor", "m1.tiny", "--image", "no-such-image",
                                "--nic", "none", "ghost", check=False)
    assert result.returncode != 0 and "no-such-image" in result.stderr


def test_server_reboot(identity_cloud: ClientCloud, server: dict):
    identity_cloud.run("server", "reboot", "--wait", server["id"])
    assert identity_cloud.json("server", "show", server["id"])["status"] == "ACTIVE"
    assert "reboot" in {e["Action"] for e in identity_cloud.json("server", "event", "list", server["id"])}


def wait_for_status(cloud: ClientCloud, server_id: str, status: str, attempts: int = 60) -> None:
    """`server stop/start` have no --wait: poll `server show` (a bound, not a timing assertion)."""
    seen = None
    for _ in range(attempts):
        seen = cloud.json("server", "show", server_id)["status"]
        if seen == status:
            return
        time.sleep(0.5)
    raise AssertionError(f"server {server_id} never became {status}; last seen {seen}")


def test_server_stop_and_start(identity_cloud: ClientCloud, server: dict):
    identity_cloud.run("server", "stop", server["id"])
    wait_for_status(identity_cloud, server["id"], "SHUTOFF")
    identity_cloud.run("server", "start", server["id"])
    wait_for_status(identity_cloud, server["id"], "ACTIVE")
    assert {"stop", "start"} <= {e["Action"] for e in identity_cloud.json("server", "event", "list", server["id"])}


def test_compute_admin_lists(identity_cloud: ClientCloud):
    hypervisors = identity_cloud.json("hypervisor", "list")
    assert {h["Hypervisor Hostname"] for h in hypervisors} == {"compute-1", "compute-2", "compute-3"}
    services = identity_cloud.json("compute", "service", "list")
    assert {(s["Binary"], s["State"]) for s in services} >= {("nova-compute", "up")}
    zones = identity_cloud.json("availability", "zone", "list")
    assert {"Zone Name": "nova", "Zone Status": "available"} in zones


def test_placement_commands(identity_cloud: ClientCloud):
    providers = identity_cloud.json("resource", "provider", "list")
    assert {p["name"] for p in providers} == {"compute-1", "compute-2", "compute-3"}
    inventory = identity_cloud.json("resource", "provider", "inventory", "list", providers[0]["uuid"])
    assert {i["resource_class"] for i in inventory} >= {"VCPU", "MEMORY_MB", "DISK_GB"}
    candidates = identity_cloud.json("allocation", "candidate", "list", "--resource", "VCPU=1")
    assert len({c["resource provider"] for c in candidates}) == 3


def test_server_delete_wait(identity_cloud: ClientCloud, server: dict):
    identity_cloud.run("server", "delete", "--wait", server["id"])
    assert server["id"] not in {s["ID"] for s in identity_cloud.json("server", "list")}


def test_bad_password_is_refused(identity_cloud: ClientCloud, tmp_path):
    text = identity_cloud.clouds_yaml.read_text()
    clouds = json.loads(text.split("\n", 1)[1])
    clouds["clouds"]["novalite"]["auth"]["password"] = "wrong"
    bad = tmp_path / "clouds.yaml"
    bad.write_text(json.dumps(clouds))
    wrong = ClientCloud(identity_cloud.process, bad, identity_cloud.executable)
    result = wrong.run("server", "list", check=False)
    assert result.returncode != 0 and "401" in result.stderr
