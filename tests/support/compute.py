"""Driving the Compute API from tests: boot, wait for a status, read usage."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from novalite.bootstrap import Cloud
from novalite.context import RequestContext

SERVERS = "/compute/v2.1/servers"
IMAGE = "cirros-0.6"


async def boot(client: httpx.AsyncClient, name: str = "vm", flavor: str = "1", expect: int = 202,
               **server: Any) -> dict[str, Any]:
    body = {"server": {"name": name, "imageRef": IMAGE, "flavorRef": flavor, "networks": "none", **server}}
    response = await client.post(SERVERS, json=body)
    assert response.status_code == expect, response.text
    return response.json()


async def wait_status(client: httpx.AsyncClient, server_id: str, *statuses: str,
                      timeout: float = 30.0) -> dict[str, Any]:
    """Poll until the server reaches one of `statuses` (a bound, not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(f"{SERVERS}/{server_id}")
        if response.status_code == 200:
            last = response.json()["server"]
            if last["status"] in statuses:
                return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"server {server_id} never reached {statuses}; last seen {last.get('status')}: {last}")


async def boot_active(client: httpx.AsyncClient, name: str = "vm", **server: Any) -> str:
    server_id = (await boot(client, name=name, **server))["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    return server_id


async def begin_delete(client: httpx.AsyncClient, server_id: str) -> None:
    """DELETE a server whose host is slow to destroy it: it is still shown, `deleting`."""
    assert (await client.delete(f"{SERVERS}/{server_id}")).status_code == 204
    shown = await client.get(f"{SERVERS}/{server_id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["server"]["OS-EXT-STS:task_state"] == "deleting"


async def wait_gone(client: httpx.AsyncClient, server_id: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if (await client.get(f"{SERVERS}/{server_id}")).status_code == 404:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"server {server_id} was not deleted within {timeout}s")


async def total_usage(cloud: Cloud) -> dict[str, int]:
    """Placement usage summed over every compute node's provider."""
    assert cloud.runtime is not None and cloud.runtime.placement is not None
    totals: dict[str, int] = {}
    ctx = RequestContext.admin()
    for compute in cloud.computes:
        for rc, used in (await cloud.runtime.placement.get_usages(ctx, compute.node_uuid)).items():
            totals[rc] = totals.get(rc, 0) + used
    return totals
