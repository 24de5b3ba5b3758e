"""The HTTP front door: one ASGI app serving every API of this process under its prefix."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from novalite.events.stream import events_endpoint
from novalite.observability.http import RequestMetrics, mount_operations
from novalite.runtime import Runtime
from novalite.services.api.compute_app import build_compute_app
from novalite.services.api.foreground import ForegroundRequests
from novalite.services.api.routes.versions import versions_document


def build_app(runtime: Runtime, roles: set[str]) -> FastAPI:
    app = FastAPI(title="novalite", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime

    def _base(request: Request) -> str:
        configured = runtime.settings.service.public_url
        return configured.rstrip("/") if configured else f"{request.url.scheme}://{request.url.netloc}"

    if "api" in roles:
        async def versions(request: Request) -> JSONResponse:
            return JSONResponse(versions_document(_base(request)), status_code=200)

        for path in ("/", "/compute", "/compute/"):
            app.add_api_route(path, versions, methods=["GET"], include_in_schema=False)
        app.mount("/compute/v2.1", build_compute_app(runtime))
        from novalite.services.identity.app import mount_identity

        mount_identity(app, runtime)
        if runtime.settings.image.enabled:
            from novalite.services.image.app import mount_image

            mount_image(app, runtime)
    if "placement" in roles:
        from novalite.services.placement.app import build_placement_app

        assert runtime.placement_sessions is not None
        app.mount("/placement", build_placement_app(runtime.placement_sessions, runtime.authenticator))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    mount_operations(app, runtime)
    if "api" in roles:
        app.add_api_route("/events", events_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(RequestMetrics)
    if runtime.foreground is not None:
        app.add_middleware(ForegroundRequests, gate=runtime.foreground)
    return app
