"""Image v2: create, upload with checksums, download, list filters, JSON patch, delete, policy."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from novalite.db.api_models import RequestSpec
from novalite.services.image.store import find_local_image, images_dir
from tests.conftest import client_for
from tests.services.image.conftest import IMAGES, PATCH, create, upload
from tests.support.compute import wait_status

DATA = b"\x00novalite-image\xff" * 1000


def stored_files(cloud) -> list[str]:
    root = images_dir(cloud.settings.service.data_dir)
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_versions_document_is_300_without_a_token(image_cloud):
    async with client_for(image_cloud, token="") as anonymous:
        anonymous.headers.pop("X-Auth-Token", None)
        response = await anonymous.get("/image")
        assert response.status_code == 300
        assert response.json()["versions"][0]["status"] == "CURRENT"
        assert (await anonymous.get(IMAGES)).status_code == 401


async def test_upload_download_round_trip_with_hashes(image_cloud, client):
    image = await create(client, name="cirros", kernel_id="k-1")
    assert image["status"] == "queued" and image["owner"] == "alpha" and image["visibility"] == "shared"
    response = await upload(client, image["id"], DATA)
    assert response.status_code == 204, response.text
    shown = (await client.get(f"{IMAGES}/{image['id']}")).json()
    assert shown["status"] == "active" and shown["size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_algo"] == "sha512" and shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert shown["kernel_id"] == "k-1"
    download = await client.get(f"{IMAGES}/{image['id']}/file")
    assert download.status_code == 200 and download.content == DATA
    assert download.headers["content-md5"] == shown["checksum"]

    local = find_local_image(image_cloud.settings.service.data_dir, image["id"])
    assert local is not None and local.path.read_bytes() == DATA and local.path.suffix == ".raw"
    assert local.properties["kernel_id"] == "k-1" and local.properties["disk_format"] == "raw"
    again = await upload(client, image["id"], DATA)
    assert again.status_code == 409


@pytest.mark.parametrize("fields, headers, status", [
    ({"owner_specified.openstack.sha256": hashlib.sha256(b"other").hexdigest()}, {}, 400),
    ({"owner_specified.openstack.md5": hashlib.md5(b"other").hexdigest()}, {}, 400),
    ({}, {"Content-Length": str(len(DATA) + 5)}, 400),
])
async def test_wrong_checksum_or_size_keeps_nothing(image_cloud, client, fields, headers, status):
    image = await create(client, **fields)
    response = await upload(client, image["id"], DATA, **headers)
    assert response.status_code == status, response.text
    assert "nothing was stored" in response.json()["message"]
    shown = (await client.get(f"{IMAGES}/{image['id']}")).json()
    assert shown["status"] == "queued" and shown["size"] is None and shown["checksum"] is None
    assert stored_files(image_cloud) == []
    assert find_local_image(image_cloud.settings.service.data_dir, image["id"]) is None


async def test_matching_declared_checksums_are_accepted(client):
    image = await create(client, **{"owner_specified.openstack.sha256": hashlib.sha256(DATA).hexdigest(),
                                     "owner_specified.openstack.md5": hashlib.md5(DATA).hexdigest()})
    assert (await upload(client, image["id"], DATA)).status_code == 204


async def test_too_large_upload_is_413_and_kept_nowhere(image_cloud, client):
    image = await create(client)
    response = await upload(client, image["id"], b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert stored_files(image_cloud) == []


async def test_upload_needs_formats(client):
    response = await client.post(IMAGES, json={"name": "bare"})
    assert (await upload(client, response.json()["id"], DATA)).status_code == 400


async def test_list_filters(client):
    a = await create(client, name="a")
    b = await create(client, name="b")
    await create(client, name="c")
    ids = await client.get(IMAGES, params={"id": f"in:{a['id']},{b['id']}"})
    assert {i["name"] for i in ids.json()["images"]} == {"a", "b"}
    named = await client.get(IMAGES, params={"name": "c"})
    assert [i["name"] for i in named.json()["images"]] == ["c"]
    first = await client.get(IMAGES, params={"limit": 2, "sort_key": "name", "sort_dir": "asc"})
    assert [i["name"] for i in first.json()["images"]] == ["a", "b"]
    rest = await client.get("/image" + first.json()["next"])
    assert [i["name"] for i in rest.json()["images"]] == ["c"] and "next" not in rest.json()
    assert (await client.get(IMAGES, params={"sort_key": "bogus"})).status_code == 400
    assert (await client.get(IMAGES, params={"marker": "nope"})).status_code == 400


async def test_json_patch(client):
    image = await create(client, name="old")
    ops = [{"op": "replace", "path": "/name", "value": "new"},
           {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
           {"op": "replace", "path": "/min_ram", "value": 128}]
    response = await client.patch(f"{IMAGES}/{image['id']}", json=ops, headers=PATCH)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["hw_disk_bus"], response.json()["min_ram"]) == \
        ("new", "virtio", 128)
    removed = await client.patch(f"{IMAGES}/{image['id']}", json=[{"op": "remove", "path": "/hw_disk_bus"}],
                                 headers=PATCH)
    assert "hw_disk_bus" not in removed.json()


@pytest.mark.parametrize("ops, headers, status", [
    ([{"op": "replace", "path": "/name", "value": "x"}], {"Content-Type": "application/json"}, 415),
    ([{"op": "replace", "path": "/status", "value": "active"}], PATCH, 403),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], PATCH, 403),
    ([{"op": "replace", "path": "/name", "value": "ok"}, {"op": "add", "path": "/min_ram", "value": "x"}],
     PATCH, 400),
    ([{"op": "move", "path": "/name"}], PATCH, 400),
    ([{"op": "remove", "path": "/nosuch"}], PATCH, 409),
    ({"op": "replace"}, PATCH, 400),
])
async def test_bad_patches_change_nothing(client, ops, headers, status):
    image = await create(client, name="keep")
    response = await client.patch(f"{IMAGES}/{image['id']}", json=ops, headers=headers)
    assert response.status_code == status, response.text
    assert (await client.get(f"{IMAGES}/{image['id']}")).json()["name"] == "keep"


async def test_projects_see_only_their_images_and_public_ones(image_cloud, client):
    mine = await create(client, name="mine")
    async with client_for(image_cloud, token="admin:admin") as admin:
        public = await create(admin, name="pub", visibility="public")
        async with client_for(image_cloud, token="bob:beta") as bob:
            assert (await bob.get(f"{IMAGES}/{mine['id']}")).status_code == 404
            assert (await bob.delete(f"{IMAGES}/{mine['id']}")).status_code == 404
            assert {i["name"] for i in (await bob.get(IMAGES)).json()["images"]} == {"pub"}
            assert (await bob.delete(f"{IMAGES}/{public['id']}")).status_code == 403
        assert {i["name"] for i in (await admin.get(IMAGES)).json()["images"]} == {"mine", "pub"}


async def test_delete_removes_files_and_protected_images_stay(image_cloud, client):
    image = await create(client, protected=True)
    assert (await upload(client, image["id"], DATA)).status_code == 204
    assert (await client.delete(f"{IMAGES}/{image['id']}")).status_code == 403
    await client.patch(f"{IMAGES}/{image['id']}", json=[{"op": "replace", "path": "/protected", "value": False}],
                       headers=PATCH)
    assert (await client.delete(f"{IMAGES}/{image['id']}")).status_code == 204
    assert (await client.get(f"{IMAGES}/{image['id']}")).status_code == 404
    assert [n for n in stored_files(image_cloud) if image["id"] in n] == []


async def test_server_create_checks_the_image(image_cloud, client):
    body = {"server": {"name": "vm", "flavorRef": "1", "networks": "none", "imageRef": "missing"}}
    response = await client.post("/compute/v2.1/servers", json=body)
    assert response.status_code == 400 and response.json()["badRequest"]["message"] == \
        "Image missing could not be found."
    queued = await create(client, name="empty")
    body["server"]["imageRef"] = queued["id"]
    response = await client.post("/compute/v2.1/servers", json=body)
    assert response.status_code == 400 and "is not active" in response.text
    big = await create(client, name="big", min_ram=1_000_000)
    await upload(client, big["id"], DATA)
    body["server"]["imageRef"] = big["id"]
    assert "memory is too small" in (await client.post("/compute/v2.1/servers", json=body)).text

    good = await create(client, name="good", hw_video_model="vga")
    await upload(client, good["id"], DATA)
    body["server"]["imageRef"] = good["id"]
    response = await client.post("/compute/v2.1/servers", json=body)
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]
    async with image_cloud.runtime.require_api_db()() as session:
        spec = await session.scalar(select(RequestSpec).where(RequestSpec.instance_uuid == server_id))
    assert spec.spec["image"]["id"] == good["id"] and spec.spec["image"]["name"] == "good"
    assert spec.spec["image"]["properties"]["hw_video_model"] == "vga"
    assert spec.spec["image"]["properties"]["disk_format"] == "raw"


async def test_the_image_type_prefilter_places_only_on_hosts_that_boot_the_format(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(image={"enabled": True},
                                                 scheduler={"query_placement_for_image_type_support": True}))
    async with client_for(cloud, token="alice:alpha") as client:
        booted = {}
        for disk_format in ("qcow2", "vhd"):
            image = await create(client, name=disk_format, disk_format=disk_format)
            await upload(client, image["id"], DATA)
            response = await client.post("/compute/v2.1/servers", json={"server": {
                "name": disk_format, "flavorRef": "1", "networks": "none", "imageRef": image["id"]}})
            assert response.status_code == 202, response.text
            booted[disk_format] = await wait_status(client, response.json()["server"]["id"], "ACTIVE", "ERROR")
    assert booted["qcow2"]["status"] == "ACTIVE"  # both drivers report COMPUTE_IMAGE_TYPE_QCOW2
    assert booted["vhd"]["status"] == "ERROR" and "No valid host" in booted["vhd"]["fault"]["message"]
