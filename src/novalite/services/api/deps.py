"""FastAPI dependencies every compute handler uses: who is asking, and at which version."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from novalite.context import RequestContext
from novalite.runtime import Runtime
from novalite.services.api.errors import ComputeFault, forbidden
from novalite.services.api.microversion import APIVersion


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def version_of(request: Request) -> APIVersion:
    return request.state.api_version


_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


async def context_of(request: Request) -> RequestContext:
    """Who asks. As in Nova's default policy, a reader may look but not change anything."""
    runtime = runtime_of(request)
    ctx = await runtime.authenticator.authenticate(
        request.headers.get("x-auth-token"), request.state.request_id
    )
    if request.method not in _READ_METHODS and not ({"member", "admin"} & set(ctx.roles)):
        raise forbidden("This action needs the member role on the project; the token has only "
                        f"{', '.join(ctx.roles) or 'no roles'}.")
    return ctx


async def admin_context_of(request: Request) -> RequestContext:
    ctx = await context_of(request)
    if not ctx.is_admin:
        raise forbidden()
    return ctx


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    raw = await request.body()
    if not raw:
        raise ComputeFault(400, "The request body is empty; a JSON object is required.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ComputeFault(400, f"Malformed request body: {exc}") from None
    if not isinstance(body, dict):
        raise ComputeFault(400, "The request body must be a JSON object.")
    return body


def require_key(body: dict[str, Any], key: str) -> Any:
    if key not in body:
        raise ComputeFault(400, f"'{key}' is a required property")
    return body[key]
