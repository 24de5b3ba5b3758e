"""/traits and /resource_providers/{uuid}/traits (1.6+)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.errors import PlacementHTTPError
from novalite.services.placement.handlers.common import (
    admin_context, db, json_response, no_content, one, query, read_body, require_version,
)
from novalite.services.placement.objects import providers, traits
from novalite.services.placement.objects.common import bump_generation
from novalite.services.placement.objects.exceptions import ConcurrentUpdate, NotFound
from novalite.services.placement.schemas.provider import TraitsPut

router = APIRouter()


@router.get("/traits")
async def list_traits(request: Request) -> Response:
    await admin_context(request, "traits:list")
    require_version(request, 1, 6)
    params = query(request, {"name", "associated"})
    name, associated = one(params, "name"), one(params, "associated")
    name_in = prefix = None
    if name is not None:
        if name.startswith("in:"):
            name_in = [n.strip() for n in name[3:].split(",") if n.strip()]
        elif name.startswith("startswith:"):
            prefix = name[len("startswith:"):]
        else:
            raise PlacementHTTPError(400, f"Badly formatted name parameter. Expected name query string "
                                     f"parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. "
                                     f"Got: \"{name}\"")
    assoc = None
    if associated is not None:
        if associated not in ("true", "false"):
            raise PlacementHTTPError(400, f"The query parameter \"associated\" only accepts \"true\" or "
                                     f"\"false\"")
        assoc = associated == "true"
    async with db(request).begin() as s:
        names = await traits.list_names(s, name_in=name_in, prefix=prefix, associated=assoc)
    return json_response({"traits": names})


@router.get("/traits/{name}")
async def get_trait(request: Request, name: str) -> Response:
    await admin_context(request, "traits:show")
    require_version(request, 1, 6)
    async with db(request).begin() as s:
        if not await traits.exists(s, name):
            raise NotFound(f"No such trait(s): {name}")
    return no_content()


@router.put("/traits/{name}")
async def put_trait(request: Request, name: str) -> Response:
    await admin_context(request, "traits:update")
    require_version(request, 1, 6)
    if not name.startswith("CUSTOM_") or not name[7:] or not all(c.isupper() or c.isdigit() or c == "_"
                                                               for c in name[7:]) or len(name) > 255:
        raise PlacementHTTPError(400, f"The trait is invalid. A valid trait must be no longer than 255 "
                                 f"characters, start with the prefix \"CUSTOM_\" and use following "
                                 f"characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\"")
    async with db(request).begin() as s:
        created = await traits.ensure(s, name)
    location = {"location": request.url.path}
    return Response(status_code=201 if created else 204, headers=location)


@router.delete("/traits/{name}")
async def delete_trait(request: Request, name: str) -> Response:
    await admin_context(request, "traits:delete")
    require_version(request, 1, 6)
    async with db(request).begin() as s:
        await traits.remove(s, name)
    return no_content()


@router.get("/resource_providers/{uuid}/traits")
async def get_provider_traits(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:traits:list")
    require_version(request, 1, 6)
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        names = await traits.of_provider(s, provider.id)
    return json_response({"traits": names, "resource_provider_generation": provider.generation})


@router.put("/resource_providers/{uuid}/traits")
async def put_provider_traits(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:traits:update")
    require_version(request, 1, 6)
    body = await read_body(request, TraitsPut)
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        if body.resource_provider_generation != provider.generation:
            raise ConcurrentUpdate(f"Resource provider's generation already changed. Please update the "
                                   f"generation and try again.")
        await traits.replace_for_provider(s, provider.id, body.traits)
        generation = await bump_generation(s, providers.RP, provider.id, provider.generation,
                                           f"resource provider {uuid}")
    return json_response({"traits": sorted(set(body.traits)), "resource_provider_generation": generation})


@router.delete("/resource_providers/{uuid}/traits")
async def delete_provider_traits(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:traits:delete")
    require_version(request, 1, 6)
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        await traits.replace_for_provider(s, provider.id, [])
        await bump_generation(s, providers.RP, provider.id, provider.generation, f"resource provider {uuid}")
    return no_content()
