"""The Compute API v2.1 application (mounted at /compute/v2.1)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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


def build_compute_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="novalite Compute API", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    errors.install_handlers(app)

    @app.middleware("http")
    async def _version_and_request_id(request: Request, call_next):  # type: ignore[no-untyped-def]
        request_id = new_request_id()
        request.state.request_id = request_id
        try:
            version = negotiate(request.headers.get("openstack-api-version"),
                                request.headers.get("x-openstack-nova-api-version"))
        except ComputeFault as exc:
            response: JSONResponse = errors.fault_response(exc.status, exc.message)
            response.headers.update(version_headers(MIN_VERSION))
            response.headers["x-openstack-request-id"] = request_id
            return response
        request.state.api_version = version
        response = await call_next(request)
        response.headers.update(version_headers(version))
        response.headers["x-openstack-request-id"] = request_id
        response.headers["x-compute-request-id"] = request_id
        return response

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
    return app
