"""What the live stream carries, and who may see it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

EventKind = Literal["server.state", "server.action", "server.fault", "service.state"]

# The `kind` filter's short names, as clients write them.
KINDS: dict[str, EventKind] = {
    "state": "server.state", "action": "server.action", "fault": "server.fault", "service": "service.state",
}

# How the hub files subscriptions: (kind, server filter, project filter), None meaning "any".
IndexKey = tuple[str, str | None, str | None]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


class Event(BaseModel):
    """One thing that happened. `id` is given by the receiving API process, in order."""

    id: int = 0
    kind: EventKind
    time: str = Field(default_factory=_now)
    request_id: str | None = None
    server_id: str | None = None
    project_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def sse_record(self) -> bytes:
        """The SSE wire form. The hub builds it once per event and every subscriber shares the bytes."""
        return f"id: {self.id}\nevent: {self.kind}\ndata: {self.model_dump_json()}\n\n".encode()


class Gap(BaseModel):
    """Told to a client in place of events it was too slow to take (or that fell out of history)."""

    missed: int | None  # None: unknown (the Last-Event-ID is not from this stream's history)
    first_id: int | None = None
    last_id: int | None = None

    def sse_record(self) -> bytes:
        return f"event: gap\ndata: {self.model_dump_json()}\n\n".encode()


class EventFilter(BaseModel):
    """A subscription's view; `admin` decides whether other projects and services are visible."""

    admin: bool = False
    project_id: str | None = None
    server_id: str | None = None
    kinds: frozenset[str] | None = None

    def index_keys(self) -> list[IndexKey]:
        """Where the hub files this view: one key per event kind it may see. An event looks
        itself up under event_keys(); the two agree with matches() (a test checks it)."""
        keys: list[IndexKey] = []
        for kind in sorted(self.kinds if self.kinds is not None else KINDS.values()):
            if kind != "service.state":
                keys.append((kind, self.server_id, self.project_id))
            elif self.admin and self.server_id is None and self.project_id is None:
                keys.append((kind, None, None))
        return keys

    def matches(self, event: Event) -> bool:
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if event.kind == "service.state":
            return self.admin and self.server_id is None and self.project_id is None
        if self.server_id is not None and event.server_id != self.server_id:
            return False
        return self.project_id is None or event.project_id == self.project_id


def event_keys(event: Event) -> tuple[IndexKey, ...]:
    """The index keys of every view that may see `event`: four dict lookups, whatever the
    number of subscribers."""
    kind, server, project = event.kind, event.server_id, event.project_id
    if server is None and project is None:
        return ((kind, None, None),)
    if server is None:
        return ((kind, None, None), (kind, None, project))
    if project is None:
        return ((kind, None, None), (kind, server, None))
    return ((kind, None, None), (kind, None, project), (kind, server, None), (kind, server, project))
