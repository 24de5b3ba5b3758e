"""The Placement API as a FastAPI sub-application (the main process mounts it at /placement)."""

from __future__ import annotations

import email.utils
import logging

from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from novalite.auth import Authenticator
from novalite.context import new_request_id
from novalite.services.placement import errors
from novalite.services.placement.handlers import (
    aggregates, allocation_candidates, allocations, inventories, reshaper, resource_classes,
    resource_providers, root, traits, usages,
)
from novalite.services.placement.microversion import (
    MAX_VERSION, MIN_VERSION, InvalidVersion, UnacceptableVersion, negotiate, version_headers,
)
from novalite.services.placement.objects.common import lost_race
from novalite.services.placement.objects.exceptions import CONCURRENT_UPDATE, PlacementDomainError

LOG = logging.getLogger(__name__)


class PlacementMiddleware:
    """Request id, version negotiation, and the headers every response carries."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        header = next((v.decode() for k, v in scope["headers"] if k == b"openstack-api-version"), None)
        try:
            version = negotiate(header)
        except (InvalidVersion, UnacceptableVersion) as exc:
            status = 400 if isinstance(exc, InvalidVersion) else 406
            extra = {"max_version": str(MAX_VERSION), "min_version": str(MIN_VERSION)} if status == 406 else {}
            body = errors.error_body(status, str(exc), "placement.undefined_code", request_id, None, **extra)
            headers = {**version_headers(MIN_VERSION), "x-openstack-request-id": request_id}
            await Response(body, status_code=status, media_type="application/json", headers=headers)(
                scope, receive, send)
            return
        state["microversion"] = version
        extra_headers = [(k.encode(), v.encode()) for k, v in version_headers(version).items()]
        extra_headers.append((b"x-openstack-request-id", request_id.encode()))
        cache_headers = version >= (1, 15) and scope["method"] == "GET"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in (b"vary",)]
                headers += extra_headers
                if cache_headers and message["status"] == 200:
                    headers += [(b"cache-control", b"no-cache"),
                                (b"last-modified", email.utils.formatdate(usegmt=True).encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _starlette_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "The resource could not be found."
    if exc.status_code == 404:
        detail = "The resource could not be found."
    elif exc.status_code == 405:
        detail = "The method specified is not allowed for this resource."
    return errors.error_response(request, exc.status_code, detail)


async def _db_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if not lost_race(exc):
        raise exc
    LOG.info("placement write lost a race: %s", exc)
    return errors.error_response(request, 409, "Another request changed the same data concurrently; retry.",
                                 CONCURRENT_UPDATE)


def build_placement_app(
    sessionmaker: async_sessionmaker[AsyncSession], authenticator: Authenticator
) -> FastAPI:
    """The Placement API; its own `/` is the version document."""
    app = FastAPI(title="novalite placement", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.sessionmaker = sessionmaker
    app.state.engine = sessionmaker.kw["bind"]
    app.state.authenticator = authenticator
    # FastAPI tries routers in this order on every request: the claim and candidate
    # endpoints, which the scheduler hammers, go first. No two routers share a path.
    for module in (allocations, allocation_candidates, root, resource_providers, inventories, resource_classes,
                   traits, aggregates, usages, reshaper):
        app.include_router(module.router)
    app.add_exception_handler(errors.PlacementHTTPError, errors.handle_http_error)
    app.add_exception_handler(PlacementDomainError, errors.handle_domain_error)
    app.add_exception_handler(StarletteHTTPException, _starlette_error)
    app.add_exception_handler(IntegrityError, _db_error)
    app.add_exception_handler(DBAPIError, _db_error)
    app.add_middleware(PlacementMiddleware)
    return app
