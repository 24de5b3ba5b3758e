"""What every handler needs: the context, the version, the database, JSON in and out."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from novalite.auth import Unauthorized
from novalite.context import RequestContext
from novalite.services.placement import validation
from novalite.services.placement.errors import PlacementHTTPError
from novalite.services.placement.microversion import Version
from novalite.services.placement.objects.exceptions import (
    ILLEGAL_DUPLICATE_QUERYPARAM,
    QUERYPARAM_BAD_VALUE,
)

M = TypeVar("M", bound=BaseModel)


def version(request: Request) -> Version:
    return request.state.microversion


def wants(request: Request, major: int, minor: int) -> bool:
    return request.state.microversion >= (major, minor)


def require_version(request: Request, major: int, minor: int, status: int = 404) -> None:
    """Endpoints that do not exist yet at the requested version answer 404 (or 405)."""
    if not wants(request, major, minor):
        if status == 405:
            raise PlacementHTTPError(405, "The method specified is not allowed for this resource.")
        raise PlacementHTTPError(404, "The resource could not be found.")


def db(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessionmaker


def engine(request: Request) -> AsyncEngine:
    """For the hot endpoints (claims, candidates): a bare connection per transaction costs
    far less than an ORM session, and their object functions need nothing more."""
    return request.app.state.engine


async def admin_context(request: Request, action: str) -> RequestContext:
    """Authenticate, then apply Placement's default policy: admin only."""
    try:
        ctx = await request.app.state.authenticator.authenticate(
            request.headers.get("x-auth-token"), request.state.request_id)
    except Unauthorized as exc:
        raise PlacementHTTPError(401, str(exc)) from None
    if not ctx.is_admin:
        raise PlacementHTTPError(403, f"Policy does not allow placement:{action} to be performed.")
    return ctx


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status,
                    media_type="application/json", headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


async def read_json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise PlacementHTTPError(415, f"The media type {content_type or 'None'} is not supported, "
                                 "use application/json")
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise PlacementHTTPError(400, f"Malformed JSON: {exc}") from None


def validate(model: type[M], data: Any) -> M:
    return validation.validate(model, data)


async def read_body(request: Request, model: type[M]) -> M:
    return validate(model, await read_json(request))


def query(request: Request, allowed: set[str], repeatable: set[str] = frozenset()) -> dict[str, list[str]]:  # type: ignore[assignment]
    """The query string, refusing unknown keys and repeats Placement refuses."""
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    unknown = sorted(k for k in out if k not in allowed)
    if unknown:
        raise PlacementHTTPError(
            400, "Invalid query string parameters: Additional properties are not allowed "
            f"({', '.join(repr(k) for k in unknown)} {'was' if len(unknown) == 1 else 'were'} unexpected)",
            QUERYPARAM_BAD_VALUE)
    for key, values in out.items():
        if len(values) > 1 and key not in repeatable:
            raise PlacementHTTPError(400, f"Query parameter {key!r} is allowed only once.",
                                     ILLEGAL_DUPLICATE_QUERYPARAM)
    return out


def one(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def href(request: Request, path: str) -> str:
    return f"{request.scope.get('root_path', '')}{path}"
