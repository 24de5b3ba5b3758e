"""GET /events: the stream as Server-Sent Events, authenticated like the Compute API.

Query filters: `server` (one server's events), `project` (admins: one project's),
`kind` (comma-separated: state, action, fault, service). The stream opens with
`event: ready`; each event is an SSE record `id: <n>` / `event: <kind>` / `data: <json>`;
a slow client gets `event: gap` with how many it missed; reconnecting with
`Last-Event-ID` replays what it missed from history.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from novalite.auth import Unauthorized
from novalite.context import RequestContext, new_request_id
from novalite.db.api_models import InstanceMapping
from novalite.events.hub import EventHub, Subscription
from novalite.events.model import KINDS, EventFilter
from novalite.services.api.errors import fault_response

if TYPE_CHECKING:
    from novalite.runtime import Runtime

FILTERS = ("server", "project", "kind")


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


async def server_project(runtime: "Runtime", server_id: str) -> str | None:
    """The project owning a server (its instance mapping, written at POST /servers)."""
    async with runtime.require_api_db()() as session:
        return await session.scalar(select(InstanceMapping.project_id)
                                    .where(InstanceMapping.instance_uuid == server_id))


async def _view(request: Request, runtime: "Runtime", ctx: RequestContext) -> EventFilter:
    params = request.query_params
    unknown = sorted(set(params) - set(FILTERS))
    if unknown:
        raise _Refused(400, f"Unknown filter(s) {', '.join(unknown)}; the event stream filters by "
                            f"{', '.join(FILTERS)}.")
    kinds = None
    if "kind" in params:
        names = [k.strip() for k in params["kind"].split(",") if k.strip()]
        bad = [k for k in names if k not in KINDS]
        if bad or not names:
            raise _Refused(400, f"Unknown event kind(s) {', '.join(bad) or '(empty)'}; choose from "
                                f"{', '.join(KINDS)}.")
        kinds = frozenset(KINDS[k] for k in names)
    project = params.get("project")
    if not ctx.is_admin:
        if project is not None and project != ctx.project_id:
            raise _Refused(403, "Only administrators may follow another project's events.")
        if kinds is not None and "service.state" in kinds:
            raise _Refused(403, "Only administrators may follow service events.")
        project = ctx.project_id
    server = params.get("server")
    if server is not None:
        owner = await server_project(runtime, server)
        if owner is None or (not ctx.is_admin and owner != ctx.project_id):
            raise _Refused(404, f"Instance {server} could not be found.")
    return EventFilter(admin=ctx.is_admin, project_id=project, server_id=server, kinds=kinds)


def _last_event_id(request: Request) -> int | None:
    raw = request.headers.get("last-event-id")
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise _Refused(400, f"Last-Event-ID must be an event id from this stream (a number), not {raw!r}.") from None


_KEEPALIVE = b": keepalive\n\n"


class EventStream(Response):
    """The SSE response: plain ASGI sends, one per flush of the hub (no async generator and
    no per-chunk task switches of StreamingResponse: with a hundred clients those are the
    stream's cost). A small task watches for the client leaving, which ends the stream."""

    media_type = "text/event-stream"

    def __init__(self, subscription: Subscription, headers: dict[str, str]):
        self.subscription = subscription
        self.status_code = 200
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscription = self.subscription
        left = asyncio.create_task(_until_disconnect(receive))
        left.add_done_callback(lambda _: subscription.wake())
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            # First `ready`: the subscription exists (nothing after this is missed) and how
            # many of the events that follow are replayed history.
            ready = f"event: ready\ndata: {json.dumps({'replayed': subscription.replayed})}\n\n".encode()
            await send({"type": "http.response.body", "body": ready + subscription.take(), "more_body": True})
            while True:
                flushed = await subscription.wait()
                if left.done():
                    break
                chunk = subscription.take() if flushed else _KEEPALIVE
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except OSError:  # the client went away mid-write (servers of ASGI spec 2.4 say so this way)
            pass
        finally:
            left.cancel()
            subscription.close()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def events_endpoint(request: Request) -> Response:
    runtime: "Runtime" = request.app.state.runtime
    request_id = new_request_id()
    headers = {"x-openstack-request-id": request_id}
    hub: EventHub | None = runtime.extras.get("events")  # type: ignore[assignment]
    try:
        ctx = await runtime.authenticator.authenticate(request.headers.get("x-auth-token"), request_id)
        view = await _view(request, runtime, ctx)
        last_id = _last_event_id(request)
    except Unauthorized as exc:
        return fault_response(401, str(exc), headers)
    except _Refused as exc:
        return fault_response(exc.status, exc.message, headers)
    if hub is None:
        return fault_response(503, "This process does not serve the event stream.", headers)
    subscription = hub.subscribe(view, last_id)
    headers.update({"cache-control": "no-cache", "x-accel-buffering": "no"})
    return EventStream(subscription, headers)
