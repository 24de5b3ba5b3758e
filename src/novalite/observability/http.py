"""HTTP surface of operations: request-duration middleware, /metrics, /readyz, and the
small metrics server of role processes that serve no API (`[metrics] port`)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from novalite.logs import request_state
from novalite.observability import metrics
from novalite.observability.health import readiness
from novalite.observability.snapshot import snapshot_text

if TYPE_CHECKING:
    from novalite.runtime import Runtime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _route_template(scope: Scope) -> str:
    """The matched route with its mount prefix ("/compute/v2.1/servers/{server_id}"):
    bounded label values, unlike raw paths full of UUIDs."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None or isinstance(route, Mount):  # a mount matched, nothing inside it did
        return "unmatched"
    return f"{scope.get('root_path', '')}{path}"


class RequestMetrics:
    """Pure ASGI (no BaseHTTPMiddleware): streams pass through untouched. The time recorded
    ends at the response headers, so a long event stream counts as the moment it opened."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_state.set(scope.setdefault("state", {}))  # log lines and events find the request id
        if not metrics.switch.on:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = _route_template(scope)
                service = route.split("/", 2)[1] if route.startswith("/") and route != "/" else "root"
                metrics.API_REQUEST_DURATION.labels(service, route, scope["method"],
                                                    str(message["status"])).observe(
                    time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, timed_send)


def mount_operations(app: FastAPI, runtime: "Runtime") -> None:
    """/metrics and /readyz on `app` (which already answers /healthz)."""
    timeout = runtime.settings.metrics.readiness_timeout

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        body = metrics.process_metrics_text() + await snapshot_text(runtime, timeout)
        return Response(body, media_type=CONTENT_TYPE)

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        result = await readiness(runtime, timeout)
        return JSONResponse(result.model_dump(), status_code=200 if not result.failed else 503)


def metrics_app(runtime: "Runtime") -> FastAPI:
    """The whole HTTP surface of a scheduler, conductor or compute process."""
    app = FastAPI(title="novalite metrics", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    mount_operations(app, runtime)
    return app


class MetricsServer:
    """uvicorn on `[metrics] port`, started and stopped with the Cloud."""

    def __init__(self, runtime: "Runtime", host: str, port: int):
        import uvicorn

        config = uvicorn.Config(metrics_app(runtime), host=host, port=port, log_config=None,
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():  # e.g. the port is taken: say so at start, not never
                self.task.result()
                raise RuntimeError("the metrics server stopped before it started")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
