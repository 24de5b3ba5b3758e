"""Counts this process's HTTP requests for the bus's foreground gate (see bus/foreground.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
