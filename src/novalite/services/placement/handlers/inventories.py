"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.handlers.common import (
    admin_context, db, href, json_response, no_content, read_body, require_version, wants,
)
from novalite.services.placement.objects import inventories, providers
from novalite.services.placement.objects.exceptions import NotFound
from novalite.services.placement.schemas.provider import InventoriesPut, InventoryPost, InventoryPut

router = APIRouter()
BASE = "/resource_providers/{uuid}/inventories"


def _one(inv: dict[str, Any], generation: int) -> dict[str, Any]:
    return {"resource_provider_generation": generation, **{k: inv[k] for k in inventories.FIELDS}}


@router.get(BASE)
async def get_inventories(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:inventories:list")
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        invs = await inventories.get_all(s, provider)
    return json_response({"resource_provider_generation": provider.generation, "inventories": invs})


@router.put(BASE)
async def put_inventories(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:inventories:update")
    body = await read_body(request, InventoriesPut)
    wanted = {rc: inv.model_dump() for rc, inv in body.inventories.items()}
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        generation = await inventories.replace_all(s, provider, body.resource_provider_generation, wanted,
                                                   reserved_can_be_total=wants(request, 1, 26))
    return json_response({"resource_provider_generation": generation,
                          "inventories": {rc: inventories.with_defaults(v) for rc, v in wanted.items()}})


@router.post(BASE)
async def post_inventory(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:inventories:create")
    body = await read_body(request, InventoryPost)
    data = body.model_dump(exclude={"resource_class"})
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        inv, generation = await inventories.add_one(s, provider, body.resource_class, data,
                                                    reserved_can_be_total=wants(request, 1, 26))
    location = href(request, f"/resource_providers/{uuid}/inventories/{body.resource_class}")
    return json_response(_one(inv, generation), status=201, headers={"location": location})


@router.delete(BASE)
async def delete_inventories(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:inventories:delete")
    require_version(request, 1, 5, status=405)
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        await inventories.replace_all(s, provider, None, {})
    return no_content()


@router.get(BASE + "/{resource_class}")
async def get_inventory(request: Request, uuid: str, resource_class: str) -> Response:
    await admin_context(request, "resource_providers:inventories:show")
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        invs = await inventories.get_all(s, provider)
    if resource_class not in invs:
        raise NotFound(f"No inventory of class {resource_class} for {uuid}")
    return json_response(_one(invs[resource_class], provider.generation))


@router.put(BASE + "/{resource_class}")
async def put_inventory(request: Request, uuid: str, resource_class: str) -> Response:
    await admin_context(request, "resource_providers:inventories:update")
    body = await read_body(request, InventoryPut)
    data = body.model_dump(exclude={"resource_provider_generation"})
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        inv, generation = await inventories.set_one(s, provider, body.resource_provider_generation,
                                                    resource_class, data,
                                                    reserved_can_be_total=wants(request, 1, 26))
    return json_response(_one(inv, generation))


@router.delete(BASE + "/{resource_class}")
async def delete_inventory(request: Request, uuid: str, resource_class: str) -> Response:
    await admin_context(request, "resource_providers:inventories:delete")
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        await inventories.delete_one(s, provider, resource_class)
    return no_content()
