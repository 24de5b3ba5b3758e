"""/resource_providers/{uuid}/aggregates (1.1+, generations from 1.19)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import RootModel
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.handlers.common import (
    admin_context, db, json_response, read_json, require_version, validate, wants,
)
from novalite.services.placement.objects import aggregates, providers
from novalite.services.placement.schemas.common import Uuid
from novalite.services.placement.schemas.provider import AggregatesPut

router = APIRouter()
BASE = "/resource_providers/{uuid}/aggregates"


def _body(request: Request, uuids: list[str], generation: int) -> dict[str, object]:
    body: dict[str, object] = {"aggregates": uuids}
    if wants(request, 1, 19):
        body["resource_provider_generation"] = generation
    return body


@router.get(BASE)
async def get_aggregates(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:aggregates:list")
    require_version(request, 1, 1)
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        uuids = await aggregates.of_provider(s, provider)
    return json_response(_body(request, uuids, provider.generation))


@router.put(BASE)
async def put_aggregates(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:aggregates:update")
    require_version(request, 1, 1)
    raw = await read_json(request)
    generation: int | None = None
    if wants(request, 1, 19):
        body = validate(AggregatesPut, raw)
        wanted, generation = body.aggregates, body.resource_provider_generation
    else:
        wanted = validate(RootModel[list[Uuid]], raw).root
    wanted = sorted(set(wanted))
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        new_generation = await aggregates.replace_for_provider(
            s, provider, wanted, generation, increment_generation=wants(request, 1, 19))
    return json_response(_body(request, wanted, new_generation))
