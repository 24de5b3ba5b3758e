"""The live event stream: what happens to servers and services, as it happens.

Call sites use the helpers below, one call each; they queue the event on the database
session, and it is published when that transaction commits (events/publisher.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from novalite.context import RequestContext
from novalite.events.model import Event
from novalite.events.publisher import after_commit, installed
from novalite.logs import current_request_id
from novalite.states import status_from_state


def _request_id(ctx: RequestContext | None) -> str | None:
    return ctx.request_id if ctx is not None else current_request_id()


def server_state(session: AsyncSession, row: Any, ctx: RequestContext | None = None) -> None:
    """An instance row's states after a change (vm_state, task_state, power_state, status)."""
    if installed.sink is None:  # nobody listens in this process: skip building the event
        return
    after_commit(session, Event(
        kind="server.state", request_id=_request_id(ctx), server_id=row.uuid, project_id=row.project_id,
        data={"vm_state": row.vm_state, "task_state": row.task_state, "power_state": row.power_state,
              "status": "DELETED" if row.deleted else status_from_state(row.vm_state, row.task_state),
              "host": row.host}))


def server_action(session: AsyncSession, ctx: RequestContext, server_id: str, action: str,
                  event: str | None = None, phase: str = "start", result: str | None = None,
                  host: str | None = None, project_id: str | None = None) -> None:
    """An instance action began (event None), or one of its events started or finished.

    `project_id` is the server's project where the caller knows it (a new server's first
    event): the stream then need not look it up before it can route the event.
    """
    if installed.sink is None:
        return
    data: dict[str, Any] = {"action": action} if event is None else {"event": event, "phase": phase}
    if result is not None:
        data["result"] = result
    if host is not None:
        data["host"] = host
    after_commit(session, Event(kind="server.action", request_id=ctx.request_id, server_id=server_id,
                                project_id=project_id, data=data))


def server_fault(session: AsyncSession, server_id: str, code: int, message: str, host: str | None) -> None:
    if installed.sink is None:
        return
    after_commit(session, Event(kind="server.fault", request_id=current_request_id(), server_id=server_id,
                                data={"code": code, "message": message, "host": host}))
