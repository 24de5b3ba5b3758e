"""Placement's error body: {"errors": [{"status", "title", "detail", "code", "request_id"}]}."""

from __future__ import annotations

import http
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.microversion import Version, version_headers
from novalite.services.placement.objects.exceptions import (
    DEFAULT,
    Conflict,
    InvalidRequest,
    NotFound,
    PlacementDomainError,
)


class PlacementHTTPError(Exception):
    """Raised by handlers for refusals that belong to HTTP itself (auth, policy, parsing)."""

    def __init__(self, status: int, detail: str, code: str = DEFAULT, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.code, self.extra = status, detail, code, extra


def status_for(exc: PlacementDomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidRequest):
        return 400
    return 400


def error_body(status: int, detail: str, code: str, request_id: str | None,
               version: Version | None, **extra: Any) -> bytes:
    error: dict[str, Any] = {
        "status": status,
        "title": http.HTTPStatus(status).phrase,
        "detail": detail,
        "request_id": request_id,
    }
    # error codes appeared at microversion 1.23
    if version is None or version >= (1, 23):
        error["code"] = code
    error.update(extra)
    return json.dumps({"errors": [error]}).encode()


def error_response(request: Request, status: int, detail: str, code: str = DEFAULT, **extra: Any) -> Response:
    version: Version | None = getattr(request.state, "microversion", None)
    request_id = getattr(request.state, "request_id", None)
    headers = version_headers(version) if version else {}
    if status == 401:
        headers["www-authenticate"] = 'Keystone uri="local"'
    return Response(
        error_body(status, detail, code, request_id, version, **extra),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlacementHTTPError)
    return error_response(request, exc.status, exc.detail, exc.code, **exc.extra)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PlacementDomainError)
    return error_response(request, status_for(exc), exc.detail, exc.code)
