"""The PlacementClient contract, run against the in-process and the HTTP implementation."""

from __future__ import annotations

from typing import AsyncIterator

import httpx
import pytest

from novalite.auth import NoAuthAuthenticator
from novalite.context import RequestContext
from novalite.service_auth import StaticToken
from novalite.services.placement.app import build_placement_app
from novalite.services.placement.client import CandidateQuery, PlacementClient, PlacementError, RequestGroup
from novalite.services.placement.http_client import HttpPlacementClient
from novalite.services.placement.local_client import LocalPlacementClient
from tests.services.placement.helpers import new_uuid

CTX = RequestContext.admin()
INVENTORY = {"VCPU": {"total": 8, "allocation_ratio": 2.0}, "MEMORY_MB": {"total": 4096, "reserved": 512}}


@pytest.fixture(params=["local", "http"])
async def pc(request: pytest.FixtureRequest, sessionmaker) -> AsyncIterator[PlacementClient]:  # type: ignore[no-untyped-def]
    if request.param == "local":
        client: PlacementClient = LocalPlacementClient(sessionmaker)
    else:
        app = build_placement_app(sessionmaker, NoAuthAuthenticator())
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        client = HttpPlacementClient("http://placement", StaticToken("admin:admin"), http=http)
    yield client
    await client.close()


async def test_providers(pc):
    root = new_uuid()
    body = await pc.ensure_resource_provider(CTX, root, "cn1")
    assert (body["uuid"], body["name"], body["generation"], body["root_provider_uuid"]) == (root, "cn1", 0, root)
    assert (await pc.ensure_resource_provider(CTX, root, "cn1"))["generation"] == 0
    child = new_uuid()
    assert (await pc.ensure_resource_provider(CTX, child, "cn1-numa0", root))["parent_provider_uuid"] == root
    assert (await pc.get_resource_provider(CTX, child))["root_provider_uuid"] == root
    assert await pc.get_resource_provider(CTX, new_uuid()) is None
    assert [p["uuid"] for p in await pc.list_resource_providers(CTX, [("name", "cn1")])] == [root]
    assert len(await pc.list_resource_providers(CTX)) == 2
    with pytest.raises(PlacementError) as err:
        await pc.delete_resource_provider(CTX, root)
    assert err.value.status == 409 and err.value.code == "placement.resource_provider.cannot_delete_parent"
    await pc.delete_resource_provider(CTX, child)
    assert await pc.get_resource_provider(CTX, child) is None
    with pytest.raises(PlacementError) as err:
        await pc.delete_resource_provider(CTX, child)
    assert err.value.status == 404


async def test_inventory_traits_aggregates_write_only_when_changed(pc):
    rp = new_uuid()
    await pc.ensure_resource_provider(CTX, rp, "cn")
    await pc.set_inventory(CTX, rp, INVENTORY)
    gen = (await pc.get_resource_provider(CTX, rp))["generation"]
    await pc.set_inventory(CTX, rp, INVENTORY)
    await pc.set_traits(CTX, rp, ["HW_CPU_X86_AVX2", "CUSTOM_FAST"])
    await pc.set_traits(CTX, rp, ["CUSTOM_FAST", "HW_CPU_X86_AVX2"])
    agg = new_uuid()
    await pc.set_aggregates(CTX, rp, [agg])
    await pc.set_aggregates(CTX, rp, [agg])
    assert (await pc.get_resource_provider(CTX, rp))["generation"] == gen + 2
    assert await pc.get_usages(CTX, rp) == {"VCPU": 0, "MEMORY_MB": 0}
    assert [p["uuid"] for p in await pc.list_resource_providers(CTX, [("required", "CUSTOM_FAST")])] == [rp]
    assert [p["uuid"] for p in await pc.list_resource_providers(CTX, [("member_of", agg)])] == [rp]
    await pc.set_inventory(CTX, rp, {"VCPU": {"total": 16}})
    assert (await pc.get_resource_provider(CTX, rp))["generation"] == gen + 3
    with pytest.raises(PlacementError) as err:
        await pc.set_traits(CTX, rp, ["NOT_A_TRAIT"])
    assert err.value.status == 400


async def test_candidates_claims_and_moves(pc):
    a, b = new_uuid(), new_uuid()
    for rp, name in ((a, "a"), (b, "b")):
        await pc.ensure_resource_provider(CTX, rp, name)
        await pc.set_inventory(CTX, rp, INVENTORY)
    await pc.set_traits(CTX, b, ["CUSTOM_GPU_HOST"])
    query = CandidateQuery(unsuffixed=RequestGroup(resources={"VCPU": 4, "MEMORY_MB": 1024},
                                                   required=["CUSTOM_GPU_HOST"]))
    body = await pc.get_allocation_candidates(CTX, query)
    assert [set(r["allocations"]) for r in body["allocation_requests"]] == [{b}]
    assert body["provider_summaries"][b]["resources"]["VCPU"] == {"capacity": 16, "used": 0}
    granular = CandidateQuery(granular={"1": RequestGroup(resources={"VCPU": 1})}, limit=1)
    assert len((await pc.get_allocation_candidates(CTX, granular))["allocation_requests"]) == 1

    consumer = new_uuid()
    await pc.claim_resources(CTX, consumer, body["allocation_requests"][0], "proj", "user")
    got = await pc.get_allocations(CTX, consumer)
    assert got["allocations"][b]["resources"] == {"VCPU": 4, "MEMORY_MB": 1024}
    assert (got["consumer_generation"], got["project_id"], got["consumer_type"]) == (0, "proj", "INSTANCE")
    assert await pc.get_usages(CTX, b) == {"VCPU": 4, "MEMORY_MB": 1024}
    with pytest.raises(PlacementError) as err:
        await pc.claim_resources(CTX, consumer, body["allocation_requests"][0], "proj", "user")
    assert err.value.is_concurrent_update
    with pytest.raises(PlacementError) as err:
        await pc.claim_resources(CTX, new_uuid(), {"allocations": {b: {"resources": {"VCPU": 13}}}}, "p", "u")
    assert err.value.status == 409 and not err.value.is_concurrent_update

    await pc.post_allocations(CTX, {consumer: {
        "allocations": {a: {"resources": {"VCPU": 2}}}, "project_id": "proj", "user_id": "user",
        "consumer_generation": 0, "consumer_type": "MIGRATION"}})
    assert await pc.get_usages(CTX, b) == {"VCPU": 0, "MEMORY_MB": 0}
    assert await pc.list_consumers(CTX) == [consumer]
    await pc.delete_allocations(CTX, consumer)
    await pc.delete_allocations(CTX, consumer)
    assert (await pc.get_allocations(CTX, consumer)) == {"allocations": {}}
    assert await pc.list_consumers(CTX) == []
