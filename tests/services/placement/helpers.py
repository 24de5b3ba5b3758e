"""Small HTTP helpers the placement tests share."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

import httpx

LATEST = {"openstack-api-version": "placement 1.39"}


def new_uuid() -> str:
    return str(uuidlib.uuid4())


async def make_rp(
    client: httpx.AsyncClient, name: str, *, parent: str | None = None,
    inventory: dict[str, Any] | None = None, traits: list[str] | None = None,
    aggregates: list[str] | None = None,
) -> str:
    body: dict[str, Any] = {"name": name, "uuid": new_uuid()}
    if parent:
        body["parent_provider_uuid"] = parent
    r = await client.post("/resource_providers", json=body, headers=LATEST)
    assert r.status_code == 200, r.text
    rp = r.json()["uuid"]
    if inventory:
        await set_inventory(client, rp, inventory)
    if traits:
        for t in traits:
            if t.startswith("CUSTOM_"):
                await client.put(f"/traits/{t}", headers=LATEST)
        gen = (await client.get(f"/resource_providers/{rp}", headers=LATEST)).json()["generation"]
        r = await client.put(f"/resource_providers/{rp}/traits", headers=LATEST,
                             json={"traits": traits, "resource_provider_generation": gen})
        assert r.status_code == 200, r.text
    if aggregates:
        gen = (await client.get(f"/resource_providers/{rp}", headers=LATEST)).json()["generation"]
        r = await client.put(f"/resource_providers/{rp}/aggregates", headers=LATEST,
                             json={"aggregates": aggregates, "resource_provider_generation": gen})
        assert r.status_code == 200, r.text
    return rp


async def set_inventory(client: httpx.AsyncClient, rp: str, inventory: dict[str, Any]) -> None:
    gen = (await client.get(f"/resource_providers/{rp}", headers=LATEST)).json()["generation"]
    invs = {rc: (v if isinstance(v, dict) else {"total": v}) for rc, v in inventory.items()}
    r = await client.put(f"/resource_providers/{rp}/inventories", headers=LATEST,
                         json={"resource_provider_generation": gen, "inventories": invs})
    assert r.status_code == 200, r.text


async def put_allocs(
    client: httpx.AsyncClient, consumer: str, allocations: dict[str, dict[str, int]], *,
    generation: int | None = None, project: str = "proj", user: str = "user", ctype: str = "INSTANCE",
) -> httpx.Response:
    return await client.put(f"/allocations/{consumer}", headers=LATEST, json={
        "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
        "project_id": project, "user_id": user, "consumer_generation": generation, "consumer_type": ctype})


def error(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"errors"}, body
    return body["errors"][0]


async def candidates(client: httpx.AsyncClient, params: str, version: str = "1.39") -> dict[str, Any]:
    r = await client.get(f"/allocation_candidates?{params}",
                         headers={"openstack-api-version": f"placement {version}"})
    assert r.status_code == 200, r.text
    return r.json()
