"""Key pairs (and their trip to the driver), server metadata and tags."""

from __future__ import annotations

from tests.conftest import client_for
from tests.support.compute import SERVERS, boot, wait_status

KEYS = "/compute/v2.1/os-keypairs"
ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEjeHg3CPHgtfCV3IlQOVkKHHbiVzjLzqaMT5DP0uVyq lab@host")


async def test_keypair_import_generate_list_delete_and_boot(cloud, client):
    imported = await client.post(KEYS, json={"keypair": {"name": "lab", "public_key": ED25519}})
    assert imported.status_code == 201, imported.text
    assert imported.json()["keypair"]["fingerprint"].count(":") == 15
    dup = await client.post(KEYS, json={"keypair": {"name": "lab", "public_key": ED25519}})
    assert dup.status_code == 409
    bad = await client.post(KEYS, json={"keypair": {"name": "junk", "public_key": "ssh-rsa not-base64!"}})
    assert bad.status_code == 400 and "Keypair data is invalid" in bad.json()["badRequest"]["message"]
    bad_name = await client.post(KEYS, json={"keypair": {"name": "a/b", "public_key": ED25519}})
    assert bad_name.status_code == 400
    gen = await client.post(KEYS, json={"keypair": {"name": "gen"}},
                            headers={"OpenStack-API-Version": "compute 2.91"})
    assert gen.status_code == 201 and "PRIVATE KEY" in gen.json()["keypair"]["private_key"]
    must_import = await client.post(KEYS, json={"keypair": {"name": "gen2"}})
    assert must_import.status_code == 400
    names = [k["keypair"]["name"] for k in (await client.get(KEYS)).json()["keypairs"]]
    assert names == ["gen", "lab"]
    async with client_for(cloud, token="eve:other") as eve:
        assert (await eve.get(f"{KEYS}/lab")).status_code == 404
        assert (await eve.get(KEYS)).json()["keypairs"] == []
        refused = await eve.post(SERVERS, json={"server": {"name": "x", "imageRef": "i", "flavorRef": "1",
                                                           "networks": "none", "key_name": "lab"}})
        assert refused.status_code == 400 and "key_name" in refused.json()["badRequest"]["message"]

    server_id = (await boot(client, name="keyed", key_name="lab"))["server"]["id"]
    server = await wait_status(client, server_id, "ACTIVE")
    assert server["key_name"] == "lab"
    guest = next(c.driver.guests[server_id] for c in cloud.computes if server_id in c.driver.guests)
    assert guest.spec.key_data == ED25519
    assert (await client.delete(f"{KEYS}/gen")).status_code == 204
    assert (await client.get(f"{KEYS}/gen")).status_code == 404


async def test_metadata_and_tags(cloud, client):
    server_id = (await boot(client, name="meta", metadata={"a": "1"}))["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    base = f"{SERVERS}/{server_id}"
    assert (await client.get(f"{base}/metadata")).json() == {"metadata": {"a": "1"}}
    merged = await client.post(f"{base}/metadata", json={"metadata": {"b": "2"}})
    assert merged.json() == {"metadata": {"a": "1", "b": "2"}}
    replaced = await client.put(f"{base}/metadata", json={"metadata": {"c": "3"}})
    assert replaced.json() == {"metadata": {"c": "3"}}
    assert (await client.put(f"{base}/metadata/d", json={"meta": {"d": "4"}})).json() == {"meta": {"d": "4"}}
    assert (await client.put(f"{base}/metadata/d", json={"meta": {"e": "4"}})).status_code == 400
    assert (await client.get(f"{base}/metadata/d")).json() == {"meta": {"d": "4"}}
    assert (await client.delete(f"{base}/metadata/d")).status_code == 204
    assert (await client.get(f"{base}/metadata/d")).status_code == 404
    too_many = {f"k{i}": "v" for i in range(129)}
    assert (await client.put(f"{base}/metadata", json={"metadata": too_many})).status_code == 403
    assert (await client.post(f"{base}/metadata", json={"metadata": "nope"})).status_code == 400

    assert (await client.put(f"{base}/tags", json={"tags": ["web", "prod", "web"]})).json() == {"tags": ["web", "prod"]}
    assert (await client.put(f"{base}/tags/blue")).status_code == 201
    assert (await client.put(f"{base}/tags/blue")).status_code == 204
    assert (await client.get(f"{base}/tags/blue")).status_code == 204
    assert (await client.get(f"{base}/tags/green")).status_code == 404
    assert (await client.put(f"{base}/tags", json={"tags": ["a,b"]})).status_code == 400
    assert (await client.delete(f"{base}/tags/web")).status_code == 204
    assert (await client.get(base)).json()["server"]["tags"] == ["prod", "blue"]
    assert (await client.get(f"{base}/tags", headers={"OpenStack-API-Version": "compute 2.25"})).status_code == 404
    assert (await client.delete(f"{base}/tags")).status_code == 204
    assert (await client.get(f"{base}/tags")).json() == {"tags": []}
