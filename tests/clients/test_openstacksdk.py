"""The same steps through openstacksdk, as scripts (and Ansible, Terraform-like tools) take them."""

from __future__ import annotations

import hashlib

from tests.clients.conftest import ClientCloud


def test_sdk_flavor_image_server_lifecycle(identity_cloud: ClientCloud, image_file):
    conn = identity_cloud.sdk()
    try:
        flavor = conn.compute.create_flavor(name="sdk.small", vcpus=1, ram=256, disk=1)
        assert "sdk.small" in {f.name for f in conn.compute.flavors()}

        image = conn.image.create_image(name="sdk-image", filename=str(image_file), disk_format="raw",
                                        container_format="bare", wait=True)
        image = conn.image.get_image(image.id)
        assert image.status == "active" and image.checksum == hashlib.md5(image_file.read_bytes()).hexdigest()
        assert [i.id for i in conn.image.images(name="sdk-image")] == [image.id]
        assert b"".join(conn.image.download_image(image, stream=True).iter_content(65536)) == \
            image_file.read_bytes()

        server = conn.compute.create_server(name="sdk-vm", flavor_id=flavor.id, image_id=image.id, networks="none")
        server = conn.compute.wait_for_server(server, status="ACTIVE", wait=120)
        assert server.id in {s.id for s in conn.compute.servers()}
        assert conn.compute.get_server(server.id).image.id == image.id
        assert [a.action for a in conn.compute.server_actions(server)] == ["create"]

        assert {h.name for h in conn.compute.hypervisors()} == {"compute-1", "compute-2", "compute-3"}
        assert {s.binary for s in conn.compute.services()} == {"nova-compute"}
        assert [z.name for z in conn.compute.availability_zones()] == ["nova"]
        providers = list(conn.placement.resource_providers())
        assert len(providers) == 3

        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, wait=120)
        assert server.id not in {s.id for s in conn.compute.servers()}
        conn.image.delete_image(image)
        assert list(conn.image.images(name="sdk-image")) == []
    finally:
        conn.close()
