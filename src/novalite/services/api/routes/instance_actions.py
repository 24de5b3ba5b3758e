"""os-instance-actions: what happened to a server, event by event."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from novalite.context import RequestContext
from novalite.db.api_models import InstanceMapping
from novalite.db.cell_models import Instance, InstanceAction
from novalite.services.api.deps import context_of, runtime_of, version_of
from novalite.services.api.errors import not_found
from novalite.services.api.uuids import require_uuid
from novalite.services.api.views.common import host_id, usec_time

router = APIRouter()


async def _cell_of_server(request: Request, ctx: RequestContext, server_id: str) -> tuple[str, Instance]:
    """Actions stay readable after a delete (2.21), so deleted instances count here."""
    require_uuid(server_id, "Instance")
    runtime = runtime_of(request)
    async with runtime.require_api_db()() as session:
        mapping = await session.scalar(select(InstanceMapping).where(InstanceMapping.instance_uuid == server_id))
    if mapping is None or mapping.cell is None or (not ctx.is_admin and mapping.project_id != ctx.project_id):
        raise not_found(f"Instance {server_id} could not be found.")
    async with runtime.require_cells().session(mapping.cell.uuid) as session:
        instance = await session.scalar(select(Instance).where(Instance.uuid == server_id))
    if instance is None or (instance.deleted and not version_of(request).at_least("2.21")):
        raise not_found(f"Instance {server_id} could not be found.")
    return mapping.cell.uuid, instance


def _action_view(action: InstanceAction, request: Request) -> dict[str, Any]:
    view = {
        "action": action.action, "instance_uuid": action.instance_uuid, "message": action.message,
        "project_id": action.project_id, "request_id": action.request_id,
        "start_time": usec_time(action.start_time), "user_id": action.user_id,
    }
    if version_of(request).at_least("2.58"):
        view["updated_at"] = usec_time(action.updated_at)
    return view


@router.get("/servers/{server_id}/os-instance-actions")
async def list_actions(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    cell_uuid, _ = await _cell_of_server(request, ctx, server_id)
    async with runtime_of(request).require_cells().session(cell_uuid) as session:
        rows = (await session.scalars(
            select(InstanceAction).where(InstanceAction.instance_uuid == server_id)
            .order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
        )).all()
    return {"instanceActions": [_action_view(a, request) for a in rows]}


@router.get("/servers/{server_id}/os-instance-actions/{request_id}")
async def show_action(server_id: str, request_id: str, request: Request,
                      ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    cell_uuid, instance = await _cell_of_server(request, ctx, server_id)
    version = version_of(request)
    async with runtime_of(request).require_cells().session(cell_uuid) as session:
        action = await session.scalar(
            select(InstanceAction).where(InstanceAction.instance_uuid == server_id,
                                         InstanceAction.request_id == request_id)
            .options(selectinload(InstanceAction.events))
        )
        if action is None:
            raise not_found(f"Action for request_id {request_id} on instance {server_id} not found")
        events = []
        for event in action.events:
            item: dict[str, Any] = {"event": event.event, "start_time": usec_time(event.start_time),
                                    "finish_time": usec_time(event.finish_time), "result": event.result}
            if ctx.is_admin:
                item["traceback"] = event.traceback
            if version.at_least("2.62"):
                if ctx.is_admin:
                    item["host"] = event.host or ""
                item["hostId"] = host_id(instance.project_id, event.host)
            if version.at_least("2.84") and ctx.is_admin:
                item["details"] = event.details
            events.append(item)
    view = _action_view(action, request)
    if ctx.is_admin or version.at_least("2.51"):
        view["events"] = events
    return {"instanceAction": view}
