"""GET / : the version document (no authentication, as in Placement)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.handlers.common import href, json_response
from novalite.services.placement.microversion import MAX_VERSION, MIN_VERSION

router = APIRouter()


@router.get("/")
async def versions(request: Request) -> Response:
    return json_response({"versions": [{
        "id": "v1.0", "max_version": str(MAX_VERSION), "min_version": str(MIN_VERSION), "status": "CURRENT",
        "links": [{"rel": "self", "href": href(request, "/")}],
    }]})
