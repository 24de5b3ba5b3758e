"""Instance actions and their events, as `openstack server event list` shows them."""

from __future__ import annotations

import traceback as tb
from collections import OrderedDict

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from novalite import events
from novalite.context import RequestContext
from novalite.db.cell_models import InstanceAction, InstanceActionEvent, InstanceFault
from novalite.db.types import utcnow


# (instance uuid, request id) -> (action id, action name). Actions never move or get a
# new id, so the build path finds its action without a query after the first time.
_ACTION_IDS: OrderedDict[tuple[str, str], tuple[int, str]] = OrderedDict()
_ACTION_IDS_MAX = 20_000


def _remember(instance_uuid: str, request_id: str, action_id: int, action: str) -> None:
    _ACTION_IDS[(instance_uuid, request_id)] = (action_id, action)
    if len(_ACTION_IDS) > _ACTION_IDS_MAX:
        _ACTION_IDS.popitem(last=False)


async def action_start(session: AsyncSession, ctx: RequestContext, instance_uuid: str,
                       action: str, project_id: str | None = None) -> InstanceAction:
    """Record an action; `project_id` is the server's, where the caller has it at hand."""
    row = InstanceAction(
        action=action, instance_uuid=instance_uuid, request_id=ctx.request_id,
        user_id=ctx.user_id, project_id=ctx.project_id, start_time=utcnow(), updated_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    _remember(instance_uuid, ctx.request_id, row.id, action)
    events.server_action(session, ctx, instance_uuid, action, project_id=project_id)
    return row


async def _action_for(session: AsyncSession, ctx: RequestContext, instance_uuid: str) -> tuple[int, str] | None:
    cached = _ACTION_IDS.get((instance_uuid, ctx.request_id))
    if cached is not None:
        return cached
    found = (await session.execute(
        select(InstanceAction.id, InstanceAction.action)
        .where(InstanceAction.instance_uuid == instance_uuid, InstanceAction.request_id == ctx.request_id)
        .order_by(InstanceAction.id.desc())
        .limit(1)
    )).first()
    if found is None:
        return None
    _remember(instance_uuid, ctx.request_id, found[0], found[1])
    return found[0], found[1]


async def fail_open_events(session: AsyncSession, instance_uuid: str, details: str) -> None:
    """End the newest action's unfinished events as errors, and the action with them.

    For builds ended by someone other than the request that began them (a restart, the
    stuck-build sweep), which therefore cannot find the action by its request id.
    """
    action = (await session.execute(
        select(InstanceAction.id, InstanceAction.action, InstanceAction.request_id)
        .where(InstanceAction.instance_uuid == instance_uuid)
        .order_by(InstanceAction.id.desc()).limit(1)
    )).first()
    if action is None:
        return
    action_id, name, request_id = action
    now = utcnow()
    open_events = (await session.scalars(
        select(InstanceActionEvent.event)
        .where(InstanceActionEvent.action_id == action_id, InstanceActionEvent.finish_time.is_(None))
    )).all()
    await session.execute(update(InstanceActionEvent)
                          .where(InstanceActionEvent.action_id == action_id,
                                 InstanceActionEvent.finish_time.is_(None))
                          .values(finish_time=now, result="Error", details=details))
    await session.execute(update(InstanceAction).where(InstanceAction.id == action_id)
                          .values(message="Error", finish_time=now, updated_at=now))
    ctx = RequestContext.admin(request_id)
    for event in open_events:
        events.server_action(session, ctx, instance_uuid, name, event, "finish", "Error")


async def event_start(session: AsyncSession, ctx: RequestContext, instance_uuid: str, event: str,
                      host: str | None) -> None:
    action = await _action_for(session, ctx, instance_uuid)
    if action is None:
        return  # the action was recorded under another request (e.g. a periodic task)
    action_id, name = action
    now = utcnow()
    await session.execute(insert(InstanceActionEvent).values(action_id=action_id, event=event, start_time=now,
                                                            host=host))
    await session.execute(update(InstanceAction).where(InstanceAction.id == action_id).values(updated_at=now))
    events.server_action(session, ctx, instance_uuid, name, event, "start", host=host)


async def event_finish(session: AsyncSession, ctx: RequestContext, instance_uuid: str, event: str,
                       result: str, details: str | None = None, traceback: str | None = None,
                       finish_action: bool = False) -> None:
    action = await _action_for(session, ctx, instance_uuid)
    if action is None:
        return
    action_id, name = action
    now = utcnow()
    started = await session.scalar(
        select(InstanceActionEvent.id)
        .where(InstanceActionEvent.action_id == action_id, InstanceActionEvent.event == event,
               InstanceActionEvent.finish_time.is_(None))
        .order_by(InstanceActionEvent.id.desc())
        .limit(1)
    )
    outcome = {"finish_time": now, "result": result, "details": details, "traceback": traceback}
    if started is None:
        await session.execute(insert(InstanceActionEvent).values(action_id=action_id, event=event,
                                                                start_time=now, **outcome))
    else:
        await session.execute(update(InstanceActionEvent).where(InstanceActionEvent.id == started)
                              .values(**outcome))
    action_values: dict[str, object] = {"updated_at": now}
    if result == "Error":
        action_values["message"] = "Error"
    if finish_action:
        action_values["finish_time"] = now
    await session.execute(update(InstanceAction).where(InstanceAction.id == action_id).values(**action_values))
    events.server_action(session, ctx, instance_uuid, name, event, "finish", result)


async def add_fault(session: AsyncSession, instance_uuid: str, code: int, message: str,
                    details: str | None = None, host: str | None = None) -> None:
    session.add(InstanceFault(instance_uuid=instance_uuid, code=code, message=message[:255],
                              details=details, host=host))
    events.server_fault(session, instance_uuid, code, message, host)


def format_exception(exc: BaseException) -> str:
    return "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
