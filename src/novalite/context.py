"""The request context: who asked, and the request id that follows the work everywhere."""

from __future__ import annotations

import contextvars
import uuid

from pydantic import BaseModel, Field


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


class RequestContext(BaseModel):
    """Travels with every bus message, so logs and instance events keep the request id."""

    request_id: str = Field(default_factory=new_request_id)
    user_id: str | None = None
    project_id: str | None = None
    roles: list[str] = Field(default_factory=list)
    is_admin: bool = False
    global_request_id: str | None = None

    @classmethod
    def admin(cls, request_id: str | None = None) -> "RequestContext":
        """A context for work the cloud does on its own behalf (periodic tasks, start-up)."""
        return cls(
            request_id=request_id or new_request_id(),
            user_id="novalite",
            project_id="service",
            roles=["admin"],
            is_admin=True,
        )


current_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "novalite_request_context", default=None
)
