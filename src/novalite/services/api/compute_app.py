"""The Compute API v2.1 application (mounted at /compute/v2.1)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from novalite.context import new_request_id
from novalite.runtime import Runtime
from novalite.services.api import errors
from novalite.services.api.errors import ComputeFault
from novalite.services.api.microversion import MIN_VERSION, negotiate, version_headers
from novalite.services.api.routes import (
    aggregates,
    availability_zones,
    flavors,
    hypervisors,
    instance_actions,
    keypairs,
    migrations,
    scheduler_dry_run,
    server_actions,
    server_groups,
    server_metadata,
    servers,
    services,
    versions,
)


class VersionAndRequestId:
    """Pure ASGI middleware: negotiates the microversion, stamps the request id, and echoes
    both on the response. (Starlette's BaseHTTPMiddleware costs a task and several loop
    turns per request, which every API call would pay.)"""

    def __init__(self, app: FastAPI):
        self.app = app
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        headers = Headers(scope=scope)
        try:
            version = negotiate(headers.get("openstack-api-version"), headers.get("x-openstack-nova-api-version"))
        except ComputeFault as exc:
            response = errors.fault_response(exc.status, exc.message)
            response.headers.update(version_headers(MIN_VERSION))
            response.headers["x-openstack-request-id"] = request_id
            await response(scope, receive, send)
            return
        state["api_version"] = version
        extra = [(k.lower().encode(), v.encode()) for k, v in version_headers(version).items()]
        extra += [(b"x-openstack-request-id", request_id.encode()), (b"x-compute-request-id", request_id.encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_compute_app(runtime: Runtime) -> ASGIApp:
    app = FastAPI(title="novalite Compute API", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    errors.install_handlers(app)

    app.include_router(versions.router)
    app.include_router(servers.router)
    app.include_router(server_actions.router)
    app.include_router(server_metadata.router)
    app.include_router(keypairs.router)
    app.include_router(migrations.router)
    app.include_router(flavors.router)
    app.include_router(instance_actions.router)
    app.include_router(hypervisors.router)
    app.include_router(services.router)
    app.include_router(availability_zones.router)
    app.include_router(server_groups.router)
    app.include_router(aggregates.router)
    app.include_router(scheduler_dry_run.router)
    return VersionAndRequestId(app)
