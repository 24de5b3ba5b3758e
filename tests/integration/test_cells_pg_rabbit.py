"""Cells v2 on PostgreSQL and RabbitMQ: builds land in the right cell, lists merge, races stay safe."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from novalite.bootstrap import Cloud
from novalite.context import RequestContext
from novalite.db.api_models import HostMapping, InstanceMapping
from tests.conftest import client_for
from tests.integration.conftest import Deployment, novalite_cli
from tests.support.compute import SERVERS, boot, wait_gone, wait_status

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

HOSTS = {"cell1": ["c1-a", "c1-b"], "cell2": ["c2-a", "c2-b"]}


async def _start_all(deployment: Deployment, **sections: dict[str, Any]) -> Cloud:
    api = await deployment.start({"api", "placement", "scheduler"}, **sections)
    await deployment.start({"scheduler"}, **sections)  # two schedulers compete for select_destinations
    for name, hosts in HOSTS.items():
        await deployment.start_cell(name, hosts, **sections)
    return api


async def _host_cells(api: Cloud) -> dict[str, str]:
    async with api.runtime.api_sessions() as session:
        return {m.host: m.cell.name for m in (await session.scalars(select(HostMapping))).all()}


async def _instance_cells(api: Cloud) -> dict[str, str | None]:
    async with api.runtime.api_sessions() as session:
        rows = (await session.scalars(select(InstanceMapping))).all()
    return {m.instance_uuid: m.cell.name if m.cell else None for m in rows}


async def _usages(api: Cloud) -> dict[str, dict[str, int]]:
    ctx, placement = RequestContext.admin(), api.runtime.placement
    providers = await placement.list_resource_providers(ctx)
    return {p["name"]: await placement.get_usages(ctx, p["uuid"]) for p in providers}


async def _all_pages(client: httpx.AsyncClient, limit: int, **sort: str) -> list[str]:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": limit, **sort}
    while True:
        body = (await client.get(f"{SERVERS}/detail", params=params)).json()
        seen += [s["id"] for s in body["servers"]]
        if "servers_links" not in body:
            return seen
        params["marker"] = seen[-1]


async def test_builds_land_in_their_host_cell_lists_merge_and_deletes_free_placement(deployment):
    # A random pick among all four hosts: concurrent decisions see the same weights and would
    # otherwise all stack on one; 24 picks all in one cell has a chance of 2**-23.
    api = await _start_all(deployment, scheduler={"host_subset_size": 4})
    assert await _host_cells(api) == {h: cell for cell, hosts in HOSTS.items() for h in hosts}
    async with client_for(api) as client:
        # The API reads every cell broker's queues, not only the top-level vhost's.
        scraped = (await client.get("/metrics")).text
        for host in sum(HOSTS.values(), []):
            assert f'novalite_bus_queue_depth{{topic="compute.{host}"}}' in scraped, host
        ids = [c["server"]["id"] for c in await asyncio.gather(*(boot(client, name=f"vm{i}") for i in range(24)))]
        servers = await asyncio.gather(*(wait_status(client, i, "ACTIVE", "ERROR", timeout=90) for i in ids))
        assert {s["status"] for s in servers} == {"ACTIVE"}, [s.get("fault") for s in servers]
        host_cells, instance_cells = await _host_cells(api), await _instance_cells(api)
        for server in servers:
            assert instance_cells[server["id"]] == host_cells[server["OS-EXT-SRV-ATTR:host"]]
        assert {instance_cells[i] for i in ids} == {"cell1", "cell2"}
        per_host: dict[str, int] = {}
        for server in servers:
            per_host[server["OS-EXT-SRV-ATTR:host"]] = per_host.get(server["OS-EXT-SRV-ATTR:host"], 0) + 1
        usages = await _usages(api)
        assert {name: usage.get("VCPU", 0) for name, usage in usages.items() if usage.get("VCPU")} == per_host

        paged = await _all_pages(client, limit=5)
        listed = (await client.get(f"{SERVERS}/detail")).json()["servers"]
        assert paged == [s["id"] for s in listed] and len(paged) == 24 and set(paged) == set(ids)
        created = [s["created"] for s in listed]
        assert created == sorted(created, reverse=True)  # newest first across both cells
        by_name = {s["id"]: s["name"] for s in listed}
        named = await _all_pages(client, limit=5, sort_key="display_name", sort_dir="asc")
        assert [by_name[i] for i in named] == sorted(by_name.values())  # one order across both cells

        for i in ids:
            assert (await client.delete(f"{SERVERS}/{i}")).status_code == 204
        await asyncio.gather(*(wait_gone(client, i, timeout=60) for i in ids))
        for _ in range(200):  # the last terminates may still be freeing their claims
            if not any(any(u.values()) for u in (await _usages(api)).values()):
                break
            await asyncio.sleep(0.1)
        assert not any(any(u.values()) for u in (await _usages(api)).values())


async def test_two_schedulers_and_two_conductors_never_over_allocate(deployment):
    # 4 hosts of 4 VCPUs (ratio 1, nothing reserved): 16 fit, the other 8 get no valid host.
    tight = {"fake_driver": {"vcpus": 4}, "compute": {"cpu_allocation_ratio": 1.0, "reserved_host_memory_mb": 0}}
    api = await _start_all(deployment, **tight)
    async with client_for(api) as client:
        ids = [c["server"]["id"] for c in await asyncio.gather(*(boot(client, name=f"r{i}") for i in range(24)))]
        servers = await asyncio.gather(*(wait_status(client, i, "ACTIVE", "ERROR", timeout=90) for i in ids))
    statuses = [s["status"] for s in servers]
    assert statuses.count("ACTIVE") == 16 and statuses.count("ERROR") == 8
    assert all("No valid host" in s["fault"]["message"] for s in servers if s["status"] == "ERROR")
    assert sorted(u.get("VCPU", 0) for u in (await _usages(api)).values()) == [4, 4, 4, 4]
    # Each instance was built once: exactly one create action, one build event.
    async with client_for(api) as client:
        for server in servers:
            actions = (await client.get(f"{SERVERS}/{server['id']}/os-instance-actions")).json()["instanceActions"]
            assert [a["action"] for a in actions] == ["create"]


async def test_discover_hosts_maps_a_host_whose_mapping_was_lost(deployment):
    api = await _start_all(deployment)
    async with api.runtime.api_sessions() as session, session.begin():
        await session.execute(HostMapping.__table__.delete().where(HostMapping.host == "c2-b"))
    out = await asyncio.to_thread(novalite_cli, deployment.cli_env(), "cell", "discover-hosts")
    assert "mapped c2-b to cell2" in out and "1 new host mapping(s)" in out
    listed = await asyncio.to_thread(novalite_cli, deployment.cli_env(), "cell", "list")
    assert {"cell0", "cell1", "cell2"} <= {line.split()[0] for line in listed.splitlines()[1:]}
