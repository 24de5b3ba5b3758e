"""/allocations/{consumer}, POST /allocations (1.13+), /resource_providers/{uuid}/allocations."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from fastapi import APIRouter
from pydantic import RootModel
from starlette.requests import Request
from starlette.responses import Response

from novalite.db.engine import begin_connection
from novalite.services.placement import views
from novalite.services.placement.errors import PlacementHTTPError
from novalite.services.placement.handlers.common import (
    admin_context, db, engine, json_response, no_content, read_json, require_version, validate, version,
)
from novalite.services.placement.objects import allocations, providers
from novalite.services.placement.schemas.common import Uuid
from novalite.services.placement.validation import consumer_write

router = APIRouter()


def _check_uuid(consumer_uuid: str) -> str:
    try:
        return str(uuidlib.UUID(consumer_uuid))
    except ValueError:
        raise PlacementHTTPError(400, f"Malformed consumer_uuid: {consumer_uuid}") from None


@router.get("/allocations/{consumer_uuid}")
async def get_allocations(request: Request, consumer_uuid: str) -> Response:
    await admin_context(request, "allocations:list")
    async with db(request).begin() as s:
        info = await allocations.get_consumer(s, consumer_uuid)
    return json_response(views.consumer_allocations(info, version(request)))


@router.put("/allocations/{consumer_uuid}")
async def put_allocations(request: Request, consumer_uuid: str) -> Response:
    await admin_context(request, "allocations:update")
    write = consumer_write(version(request), _check_uuid(consumer_uuid), await read_json(request))
    async with begin_connection(engine(request)) as conn:
        await allocations.replace(conn, [write])
    return no_content()


@router.post("/allocations")
async def post_allocations(request: Request) -> Response:
    await admin_context(request, "allocations:manage")
    require_version(request, 1, 13, status=405)
    raw = await read_json(request)
    bodies = validate(RootModel[dict[Uuid, Any]], raw).root
    if not bodies:
        raise PlacementHTTPError(400, "JSON does not validate: {} does not have enough properties")
    writes = [consumer_write(version(request), consumer, body) for consumer, body in bodies.items()]
    async with begin_connection(engine(request)) as conn:
        await allocations.replace(conn, writes)
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
