"""What the live stream carries, and who may see it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

EventKind = Literal["server.state", "server.action", "server.fault", "service.state"]

# The `kind` filter's short names, as clients write them.
KINDS: dict[str, EventKind] = {
    "state": "server.state", "action": "server.action", "fault": "server.fault", "service": "service.state",
}


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
    _record: bytes | None = PrivateAttr(default=None)

    def sse_record(self) -> bytes:
        """The SSE wire form, built (and encoded) once however many subscribers send it."""
        if self._record is None:
            self._record = f"id: {self.id}\nevent: {self.kind}\ndata: {self.model_dump_json()}\n\n".encode()
        return self._record


class Gap(BaseModel):
    """Told to a client in place of events it was too slow to take (or that fell out of history)."""

    missed: int | None  # None: unknown (the Last-Event-ID is not from this stream's history)
    first_id: int | None = None
    last_id: int | None = None


class EventFilter(BaseModel):
    """A subscription's view; `admin` decides whether other projects and services are visible."""

    admin: bool = False
    project_id: str | None = None
    server_id: str | None = None
    kinds: frozenset[str] | None = None

    def matches(self, event: Event) -> bool:
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if event.kind == "service.state":
            return self.admin and self.server_id is None and self.project_id is None
        if self.server_id is not None and event.server_id != self.server_id:
            return False
        return self.project_id is None or event.project_id == self.project_id
