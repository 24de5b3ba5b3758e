"""The ASGI application of one uvicorn worker when the api/placement roles run several.

`novalite serve --role api,placement` with `service.api_workers` > 1 hands uvicorn this
module's import string: each worker process imports it and builds its own Cloud at
lifespan start (its own database pools and bus connection; nothing is shared across
processes). Settings come from the environment the parent passes on (NOVALITE_CONFIG,
NOVALITE_* variables), the roles from NOVALITE_ASGI_ROLES. The parent migrated the
databases already, so workers never race to migrate.
"""

from __future__ import annotations

import os
from typing import Any, Awaitable, Callable

from novalite.bootstrap import Cloud, parse_roles
from novalite.config import load_settings
from novalite.heap import settle_after_start
from novalite.logs import setup_logging

ROLES_ENV = "NOVALITE_ASGI_ROLES"

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class CloudApp:
    """Starts this worker's Cloud on lifespan startup and forwards every request to its app."""

    def __init__(self) -> None:
        self.cloud: Cloud | None = None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.cloud is None or self.cloud.app is None:
            raise RuntimeError("the worker's cloud is not started (uvicorn must run with lifespan on)")
        await self.cloud.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    settings = load_settings()
                    setup_logging(settings.logging.level, settings.logging.format)
                    roles = parse_roles(os.environ.get(ROLES_ENV, "api,placement"))
                    self.cloud = Cloud(settings=settings, roles=roles, migrate=False)
                    await self.cloud.start()
                    settle_after_start()
                except Exception as exc:  # uvicorn reports it and stops the worker
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.cloud is not None:
                    await self.cloud.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = CloudApp()
