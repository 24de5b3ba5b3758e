"""/allocations/{consumer}, POST /allocations (1.13+), /resource_providers/{uuid}/allocations."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from fastapi import APIRouter
from pydantic import RootModel
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.errors import PlacementHTTPError
from novalite.services.placement.handlers.common import (
    admin_context, db, json_response, no_content, read_json, require_version, validate, wants,
)
from novalite.services.placement.objects import allocations, providers
from novalite.services.placement.objects.allocations import UNCHECKED, ConsumerWrite
from novalite.services.placement.schemas.allocation import ConsumerAllocations, LegacyAllocations
from novalite.services.placement.schemas.common import Uuid

router = APIRouter()
# What Placement records for consumers written before project/user were required (< 1.8).
INCOMPLETE_ID = "00000000-0000-0000-0000-000000000000"


def _bad(detail: str) -> PlacementHTTPError:
    return PlacementHTTPError(400, f"JSON does not validate: {detail}")


def _check_uuid(consumer_uuid: str) -> str:
    try:
        return str(uuidlib.UUID(consumer_uuid))
    except ValueError:
        raise PlacementHTTPError(400, f"Malformed consumer_uuid: {consumer_uuid}") from None


def consumer_write(request: Request, consumer_uuid: str, raw: Any) -> ConsumerWrite:
    """One consumer's body, read with the rules of the requested microversion."""
    if not wants(request, 1, 12):
        legacy = validate(LegacyAllocations, raw)
        if wants(request, 1, 8) and (legacy.project_id is None or legacy.user_id is None):
            raise _bad("'project_id' and 'user_id' are required properties")
        allocs: dict[str, dict[str, int]] = {}
        for a in legacy.allocations:
            allocs.setdefault(a.resource_provider.uuid, {}).update(a.resources)
        return ConsumerWrite(consumer_uuid, allocs, legacy.project_id or INCOMPLETE_ID,
                             legacy.user_id or INCOMPLETE_ID)
    body = validate(ConsumerAllocations, raw)
    given = body.model_fields_set
    for key, version in (("consumer_generation", (1, 28)), ("mappings", (1, 34)), ("consumer_type", (1, 38))):
        if key in given and not wants(request, *version):
            raise _bad(f"Additional properties are not allowed ('{key}' was unexpected)")
        if key != "mappings" and key not in given and wants(request, *version):
            raise _bad(f"'{key}' is a required property")
    if not body.allocations and not wants(request, 1, 28):
        raise _bad("allocations: {} does not have enough properties")
    return ConsumerWrite(
        consumer_uuid,
        {rp: dict(entry.resources) for rp, entry in body.allocations.items()},
        body.project_id, body.user_id,
        body.consumer_generation if wants(request, 1, 28) else UNCHECKED,
        body.consumer_type,
    )


@router.get("/allocations/{consumer_uuid}")
async def get_allocations(request: Request, consumer_uuid: str) -> Response:
    await admin_context(request, "allocations:list")
    async with db(request).begin() as s:
        info = await allocations.get_consumer(s, consumer_uuid)
    body: dict[str, Any] = {"allocations": info.allocations if info else {}}
    if info is not None and wants(request, 1, 12):
        body["project_id"], body["user_id"] = info.project_id, info.user_id
        if wants(request, 1, 28):
            body["consumer_generation"] = info.generation
        if wants(request, 1, 38):
            body["consumer_type"] = info.consumer_type or "unknown"
    return json_response(body)


@router.put("/allocations/{consumer_uuid}")
async def put_allocations(request: Request, consumer_uuid: str) -> Response:
    await admin_context(request, "allocations:update")
    write = consumer_write(request, _check_uuid(consumer_uuid), await read_json(request))
    async with db(request).begin() as s:
        await allocations.replace(s, [write])
    return no_content()


@router.post("/allocations")
async def post_allocations(request: Request) -> Response:
    await admin_context(request, "allocations:manage")
    require_version(request, 1, 13, status=405)
    raw = await read_json(request)
    bodies = validate(RootModel[dict[Uuid, Any]], raw).root
    if not bodies:
        raise _bad("{} does not have enough properties")
    writes = [consumer_write(request, consumer, body) for consumer, body in bodies.items()]
    async with db(request).begin() as s:
        await allocations.replace(s, writes)
    return no_content()


@router.delete("/allocations/{consumer_uuid}")
async def delete_allocations(request: Request, consumer_uuid: str) -> Response:
    await admin_context(request, "allocations:delete")
    async with db(request).begin() as s:
        await allocations.delete_for_consumer(s, consumer_uuid)
    return no_content()


@router.get("/resource_providers/{uuid}/allocations")
async def provider_allocations(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:allocations:list")
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        by_consumer = await allocations.for_provider(s, provider)
    return json_response({"resource_provider_generation": provider.generation,
                          "allocations": {c: {"resources": r} for c, r in by_consumer.items()}})
