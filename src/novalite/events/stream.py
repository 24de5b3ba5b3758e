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
from typing import TYPE_CHECKING, AsyncIterator

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from novalite.auth import Unauthorized
from novalite.context import RequestContext, new_request_id
from novalite.db.api_models import InstanceMapping
from novalite.events.hub import EventHub, Subscription
from novalite.events.model import KINDS, Event, EventFilter, Gap
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


_BATCH = 256
_COALESCE = 0.05


def _wire(item: Event | Gap) -> bytes:
    if isinstance(item, Event):
        return item.sse_record()
    return f"event: gap\ndata: {item.model_dump_json()}\n\n".encode()


async def _records(subscription: Subscription, keepalive: float) -> AsyncIterator[bytes | str]:
    # First `ready`: the subscription exists (nothing after this is missed) and how many
    # of the events that follow are replayed history.
    replayed = sum(isinstance(item, Event) for item in subscription.buffer)
    try:
        yield f"event: ready\ndata: {json.dumps({'replayed': replayed})}\n\n"
        while True:
            item = await subscription.next(keepalive)
            if item is None:
                yield ": keepalive\n\n"
                continue
            # Events come in bursts (a boot is several): wait a moment for the rest of the
            # burst, then send it in one write. Per subscriber, wake-ups and writes are the
            # stream's whole cost; this divides them by the burst size for 50 ms of latency.
            await asyncio.sleep(_COALESCE)
            yield b"".join(_wire(each) for each in [item, *subscription.drain(_BATCH)])
    finally:
        subscription.close()


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
    return StreamingResponse(_records(subscription, runtime.settings.events.keepalive),
                             media_type="text/event-stream", headers=headers)
