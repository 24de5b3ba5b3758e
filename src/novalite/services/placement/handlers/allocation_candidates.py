"""GET /allocation_candidates (1.10+)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.db.engine import begin_connection
from novalite.services.placement import candidate_api
from novalite.services.placement.gc_pause import gc_paused
from novalite.services.placement.handlers.common import admin_context, engine, require_version, version
from novalite.services.placement.objects import candidates

router = APIRouter()


@router.get("/allocation_candidates")
async def allocation_candidates(request: Request) -> Response:
    await admin_context(request, "allocation_candidates:list")
    require_version(request, 1, 10)
    wanted = version(request)
    parsed = candidate_api.parse(request.query_params.multi_items(), wanted)
    with gc_paused():
        async with begin_connection(engine(request)) as conn:
            result = await candidates.find(conn, parsed)
        body = candidate_api.render_json(result, parsed, wanted)
    return Response(body, media_type="application/json")
