"""POST /reshaper (1.30+): move inventory and allocations between providers atomically."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.handlers.common import (
    admin_context, db, no_content, read_json, require_version, validate, version, wants,
)
from novalite.services.placement.objects import allocations, inventories, providers
from novalite.services.placement.objects.exceptions import RESOURCE_PROVIDER_NOT_FOUND, InvalidRequest
from novalite.services.placement.schemas.allocation import Reshape
from novalite.services.placement.validation import consumer_write

router = APIRouter()


@router.post("/reshaper")
async def reshape(request: Request) -> Response:
    await admin_context(request, "reshaper:reshape")
    require_version(request, 1, 30)
    raw = await read_json(request)
    body = validate(Reshape, raw)
    writes = [consumer_write(version(request), consumer, raw["allocations"][consumer]) for consumer in body.allocations]
    async with db(request).begin() as s:
        # consumers being moved release their old allocations first, so inventory they
        # held can be removed by the same request
        await allocations.release(s, [w.consumer_uuid for w in writes])
        for rp_uuid, entry in body.inventories.items():
            provider = await providers.get(s, rp_uuid)
            if provider is None:  # part of the body, so a bad request rather than a missing URL, as upstream
                raise InvalidRequest(f"Resource provider {rp_uuid} in the reshape inventories does not exist",
                                     RESOURCE_PROVIDER_NOT_FOUND)
            await inventories.replace_all(
                s, provider, entry.resource_provider_generation,
                {rc: inv.model_dump() for rc, inv in entry.inventories.items()},
                reserved_can_be_total=wants(request, 1, 26))
        await allocations.replace(s, writes)
    return no_content()
