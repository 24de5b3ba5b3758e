"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement import views
from novalite.services.placement.errors import PlacementHTTPError
from novalite.services.placement.handlers.common import (
    admin_context, db, href, json_response, no_content, one, query, read_body, version, wants,
)
from novalite.services.placement.objects import providers
from novalite.services.placement.objects.exceptions import InvalidRequest
from novalite.services.placement.objects.filters import parse_member_of, parse_required, parse_resources
from novalite.services.placement.schemas.provider import ProviderCreate, ProviderUpdate

router = APIRouter()


def provider_body(request: Request, p: providers.Provider) -> dict[str, Any]:
    return views.provider(p, version(request), request.scope.get("root_path", ""))


def _allowed_filters(request: Request) -> set[str]:
    allowed = {"name", "uuid"}
    for version, key in (((1, 3), "member_of"), ((1, 4), "resources"), ((1, 14), "in_tree"),
                         ((1, 18), "required")):
        if wants(request, *version):
            allowed.add(key)
    return allowed


@router.get("/resource_providers")
async def list_resource_providers(request: Request) -> Response:
    await admin_context(request, "resource_providers:list")
    params = query(request, _allowed_filters(request), {"member_of", "required"})
    member_of = traits = resources = None
    if "member_of" in params:
        member_of = parse_member_of(params["member_of"], wants(request, 1, 24), wants(request, 1, 32))
    if "required" in params:
        traits = parse_required(params["required"], wants(request, 1, 22), wants(request, 1, 39))
    if "resources" in params:
        resources = parse_resources(params["resources"][0])
    uuid = one(params, "uuid")
    in_tree = one(params, "in_tree")
    for key, value in (("uuid", uuid), ("in_tree", in_tree)):
        if value is not None:
            try:
                uuidlib.UUID(value)
            except ValueError:
                raise PlacementHTTPError(400, f"Invalid query string parameters: '{value}' is not a "
                                         f"'uuid' ({key})") from None
    async with db(request).begin() as s:
        if traits:
            missing = await providers.unknown_traits(s, traits.names())
            if missing:
                raise InvalidRequest(f"No such trait(s): {', '.join(missing)}")
        found = await providers.list_providers(
            s, name=one(params, "name"), uuid=uuid, in_tree=in_tree, member_of=member_of,
            traits=traits, resources=resources)
    return json_response({"resource_providers": [provider_body(request, p) for p in found]})


@router.post("/resource_providers")
async def create_resource_provider(request: Request) -> Response:
    await admin_context(request, "resource_providers:create")
    body = await read_body(request, ProviderCreate)
    if body.parent_provider_uuid is not None and not wants(request, 1, 14):
        raise PlacementHTTPError(400, "JSON does not validate: Additional properties are not allowed "
                                 "('parent_provider_uuid' was unexpected)")
    uuid = body.uuid or str(uuidlib.uuid4())
    async with db(request).begin() as s:
        created = await providers.create(s, uuid, body.name, body.parent_provider_uuid)
    location = href(request, f"/resource_providers/{uuid}")
    if wants(request, 1, 20):
        return json_response(provider_body(request, created), headers={"location": location})
    return Response(status_code=201, headers={"location": location})


@router.get("/resource_providers/{uuid}")
async def get_resource_provider(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:show")
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
    return json_response(provider_body(request, provider))


@router.put("/resource_providers/{uuid}")
async def update_resource_provider(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:update")
    body = await read_body(request, ProviderUpdate)
    kwargs: dict[str, Any] = {}
    if "parent_provider_uuid" in body.model_fields_set:
        if not wants(request, 1, 14):
            raise PlacementHTTPError(400, "JSON does not validate: Additional properties are not allowed "
                                     "('parent_provider_uuid' was unexpected)")
        kwargs["parent_uuid"] = body.parent_provider_uuid
    async with db(request).begin() as s:
        updated = await providers.update_provider(s, uuid, body.name, allow_reparent=wants(request, 1, 37),
                                                  **kwargs)
    return json_response(provider_body(request, updated))


@router.delete("/resource_providers/{uuid}")
async def delete_resource_provider(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:delete")
    async with db(request).begin() as s:
        await providers.remove(s, uuid)
    return no_content()
