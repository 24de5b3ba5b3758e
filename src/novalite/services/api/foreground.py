"""Counts this process's HTTP requests for the bus's foreground gate (see bus/foreground.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from novalite.bus.foreground import ForegroundGate


class ForegroundRequests:
    """Pure ASGI middleware: a request counts until its response headers are sent, so a
    long event stream counts only while it opens."""

    def __init__(self, app: ASGIApp, gate: ForegroundGate):
        self.app, self.gate = app, gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gate = self.gate
        gate.enter()
        answering = True

        async def send_and_release(message: Message) -> None:
            nonlocal answering
            if answering and message["type"] == "http.response.start":
                answering = False
                gate.leave()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if answering:
                gate.leave()


def touching_http_protocol(gate: ForegroundGate) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, telling the gate when a client sends bytes.

    A request counts as API activity from its first byte: uvicorn reads it in the loop's I/O
    phase but runs the app a turn later, and a gate that only saw the app would take the
    moment in between for a pause.
    """
    base: Any = import_from_string(HTTP_PROTOCOLS["auto"])

    class TouchingProtocol(base):  # type: ignore[misc,valid-type]
        def data_received(self, data: bytes) -> None:
            gate.touch()
            super().data_received(data)

    return TouchingProtocol
