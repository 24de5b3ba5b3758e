"""Logging: plain text for a lab, one JSON object per line when configured.

Every line carries the request id (the bus context in services, the HTTP request's
`x-openstack-request-id` in the API), the instance UUID when the work is about one,
and the service (roles) and host of the process.
"""

from __future__ import annotations

import contextvars
import json
import logging
import socket
import sys
from typing import Any

from novalite.context import current_context

# The HTTP request's scope["state"], set by the outermost middleware; the compute API's
# middleware writes the request id into it, so lines logged while handling see it.
request_state: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "novalite_request_state", default=None)
# The instance a bus message is about (set by the dispatcher from its arguments).
current_instance: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "novalite_current_instance", default=None)


class _Identity:
    service = "-"
    host = socket.gethostname()


identity = _Identity()


def set_identity(service: str, host: str | None = None) -> None:
    identity.service = service
    if host:
        identity.host = host


def current_request_id() -> str | None:
    ctx = current_context.get()
    if ctx is not None:
        return ctx.request_id
    state = request_state.get()
    return state.get("request_id") if state else None


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        if not getattr(record, "instance_uuid", None):
            record.instance_uuid = current_instance.get()
        record.service, record.host = identity.service, identity.host
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record), "level": record.levelname, "logger": record.name,
            "message": record.getMessage(), "request_id": getattr(record, "request_id", "-"),
            "service": getattr(record, "service", identity.service), "host": getattr(record, "host", identity.host),
        }
        instance = getattr(record, "instance_uuid", None)
        if instance:
            entry["instance_uuid"] = instance
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
