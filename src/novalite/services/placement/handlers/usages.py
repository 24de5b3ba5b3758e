"""/resource_providers/{uuid}/usages and /usages (1.9+)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.errors import PlacementHTTPError
from novalite.services.placement.handlers.common import (
    admin_context, db, json_response, one, query, require_version, wants,
)
from novalite.services.placement.objects import providers, usages
from novalite.services.placement.objects.exceptions import QUERYPARAM_MISSING_VALUE

router = APIRouter()


@router.get("/resource_providers/{uuid}/usages")
async def provider_usages(request: Request, uuid: str) -> Response:
    await admin_context(request, "resource_providers:usages")
    async with db(request).begin() as s:
        provider = await providers.require(s, uuid)
        used = await usages.for_provider(s, provider)
    return json_response({"resource_provider_generation": provider.generation, "usages": used})


@router.get("/usages")
async def project_usages(request: Request) -> Response:
    await admin_context(request, "usages")
    require_version(request, 1, 9)
    allowed = {"project_id", "user_id"} | ({"consumer_type"} if wants(request, 1, 38) else set())
    params = query(request, allowed)
    project_id = one(params, "project_id")
    if not project_id:
        raise PlacementHTTPError(400, "Invalid query string parameters: 'project_id' is a required property",
                                 QUERYPARAM_MISSING_VALUE)
    async with db(request).begin() as s:
        used = await usages.for_project(s, project_id, one(params, "user_id"), one(params, "consumer_type"),
                                        by_type=wants(request, 1, 38))
    return json_response({"usages": used})
