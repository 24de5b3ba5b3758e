"""A lab without identity (noauth2): the second clouds.yaml, with endpoint overrides.

auth_type admin_token with `auth.endpoint` at placement (osc-placement asks the auth
plugin, not the override), `<service>_endpoint_override` for the others, and identity's at
the static v3 document.
"""

from __future__ import annotations

import json

from tests.clients.conftest import ClientCloud


def test_noauth_clouds_yaml_has_every_override(noauth_cloud: ClientCloud):
    cloud = json.loads(noauth_cloud.clouds_yaml.read_text().split("\n", 1)[1])["clouds"]["novalite"]
    base = noauth_cloud.process.url
    assert cloud["auth_type"] == "admin_token" and cloud["auth"]["endpoint"] == base + "/placement"
    assert cloud["compute_endpoint_override"] == base + "/compute/v2.1"
    assert cloud["identity_endpoint_override"] == base + "/identity/v3/"


def test_cli_works_without_identity(noauth_cloud: ClientCloud, image_file):
    noauth_cloud.run("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "lab.small")
    assert "lab.small" in {f["Name"] for f in noauth_cloud.json("flavor", "list")}
    image = noauth_cloud.json("image", "create", "--file", str(image_file), "--disk-format", "raw",
                              "--container-format", "bare", "lab-image")
    assert image["status"] == "active"
    server = noauth_cloud.json("server", "create", "--flavor", "lab.small", "--image", "lab-image",
                               "--nic", "none", "--wait", "lab-vm")
    assert server["status"] == "ACTIVE"
    assert [s["Name"] for s in noauth_cloud.json("server", "list")] == ["lab-vm"]
    assert len(noauth_cloud.json("resource", "provider", "list")) == 3
    assert noauth_cloud.json("allocation", "candidate", "list", "--resource", "VCPU=1")
    noauth_cloud.run("server", "delete", "--wait", server["id"])
    assert noauth_cloud.json("server", "list") == []
