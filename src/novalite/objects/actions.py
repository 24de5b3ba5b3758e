"""Instance actions and their events, as `openstack server event list` shows them."""

from __future__ import annotations

import traceback as tb

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite import events
from novalite.context import RequestContext
from novalite.db.cell_models import InstanceAction, InstanceActionEvent, InstanceFault
from novalite.db.types import utcnow


async def action_start(session: AsyncSession, ctx: RequestContext, instance_uuid: str,
                       action: str) -> InstanceAction:
    row = InstanceAction(
        action=action, instance_uuid=instance_uuid, request_id=ctx.request_id,
        user_id=ctx.user_id, project_id=ctx.project_id, start_time=utcnow(), updated_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    events.server_action(session, ctx, instance_uuid, action)
    return row


async def _action_for(session: AsyncSession, ctx: RequestContext, instance_uuid: str) -> InstanceAction | None:
    query = (
        select(InstanceAction)
        .where(InstanceAction.instance_uuid == instance_uuid, InstanceAction.request_id == ctx.request_id)
        .order_by(InstanceAction.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def event_start(session: AsyncSession, ctx: RequestContext, instance_uuid: str, event: str,
                      host: str | None) -> None:
    action = await _action_for(session, ctx, instance_uuid)
    if action is None:
        return  # the action was recorded under another request (e.g. a periodic task)
    now = utcnow()
    session.add(InstanceActionEvent(action_id=action.id, event=event, start_time=now, host=host))
    action.updated_at = now
    events.server_action(session, ctx, instance_uuid, action.action, event, "start", host=host)


async def event_finish(session: AsyncSession, ctx: RequestContext, instance_uuid: str, event: str,
                       result: str, details: str | None = None, traceback: str | None = None,
                       finish_action: bool = False) -> None:
    action = await _action_for(session, ctx, instance_uuid)
    if action is None:
        return
    now = utcnow()
    row = await session.scalar(
        select(InstanceActionEvent)
        .where(InstanceActionEvent.action_id == action.id, InstanceActionEvent.event == event,
               InstanceActionEvent.finish_time.is_(None))
        .order_by(InstanceActionEvent.id.desc())
        .limit(1)
    )
    if row is None:
        row = InstanceActionEvent(action_id=action.id, event=event, start_time=now)
        session.add(row)
    row.finish_time, row.result, row.details, row.traceback = now, result, details, traceback
    action.updated_at = now
    if result == "Error":
        action.message = "Error"
    if finish_action:
        action.finish_time = now
    events.server_action(session, ctx, instance_uuid, action.action, event, "finish", result)


async def add_fault(session: AsyncSession, instance_uuid: str, code: int, message: str,
                    details: str | None = None, host: str | None = None) -> None:
    session.add(InstanceFault(instance_uuid=instance_uuid, code=code, message=message[:255],
                              details=details, host=host))
    events.server_fault(session, instance_uuid, code, message, host)


def format_exception(exc: BaseException) -> str:
    return "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
