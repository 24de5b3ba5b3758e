"""os-services: the services of every cell, enabling, disabling, forcing down, deleting (admin only).

From microversion 2.53 a service is addressed by its uuid (`PUT /os-services/{uuid}`);
before it, by host and binary through the action URLs (`PUT /os-services/disable`...)
and by its integer id, which is only unique within one cell. A disabled compute stops
getting new servers: ComputeFilter skips it, and its heartbeat reply tells the compute,
which then reports the COMPUTE_STATUS_DISABLED trait to placement.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select, update

from novalite.context import RequestContext
from novalite.db.api_models import HostMapping
from novalite.db.cell_models import ComputeNode, Instance, Service
from novalite.db.types import utcnow
from novalite.runtime import Runtime
from novalite.services.api.deps import admin_context_of, json_body, runtime_of, version_of
from novalite.services.api.errors import bad_request, conflict, not_found
from novalite.services.api.service_status import service_state
from novalite.services.api.views.common import usec_time

router = APIRouter()

COMPUTE = "nova-compute"


@dataclass
class Located:
    cell_uuid: str
    service: Service


class ServiceUpdate(BaseModel):
    """The 2.53 body: at least one of these."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["enabled", "disabled"] | None = None
    disabled_reason: str | None = Field(None, min_length=1, max_length=255)
    forced_down: bool | None = None


class HostBinary(BaseModel):
    """The body of the pre-2.53 action URLs."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1, max_length=255)
    binary: str = Field(min_length=1, max_length=255)
    disabled_reason: str | None = Field(None, min_length=1, max_length=255)
    forced_down: bool | None = None


async def _located(runtime: Runtime, *conditions: Any) -> list[Located]:
    cells = runtime.require_cells()
    found: list[Located] = []
    for cell in cells.cells_with_hosts():
        async with cells.session(cell.uuid) as session:
            rows = (await session.scalars(
                select(Service).where(Service.deleted == 0, *conditions).order_by(Service.id))).all()
        found += [Located(cell.uuid, row) for row in rows]
    return found


async def _one(runtime: Runtime, service_id: str, by_uuid: bool) -> Located:
    if by_uuid:
        try:
            uuidlib.UUID(service_id)
        except ValueError:
            raise bad_request(f"Invalid uuid {service_id}") from None
        found = await _located(runtime, Service.uuid == service_id)
    else:
        if not service_id.isdigit():
            raise bad_request(f"Invalid service id {service_id}: an integer before microversion 2.53")
        found = await _located(runtime, Service.id == int(service_id))
        if len(found) > 1:
            raise bad_request(f"Service id {service_id} refers to services in several cells; "
                              "address it by uuid with microversion 2.53 or later.")
    if not found:
        raise not_found(f"Service {service_id} could not be found.")
    return found[0]


async def all_services(request: Request) -> list[Service]:
    """Every live service of every cell (availability zones list them too)."""
    return [found.service for found in await _located(runtime_of(request))]


def _view(service: Service, runtime: Runtime, version: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": service.uuid if version.at_least("2.53") else service.id,
        "binary": service.binary, "host": service.host,
        "zone": runtime.settings.api.default_availability_zone if service.binary == COMPUTE else "internal",
        "status": "disabled" if service.disabled else "enabled",
        "state": service_state(service, runtime.settings.service.service_down_time),
        "updated_at": usec_time(service.updated_at), "disabled_reason": service.disabled_reason,
    }
    if version.at_least("2.11"):
        view["forced_down"] = service.forced_down
    return view


async def _save(runtime: Runtime, located: Located, values: dict[str, Any]) -> Service:
    async with runtime.require_cells().session(located.cell_uuid) as session, session.begin():
        await session.execute(update(Service).where(Service.id == located.service.id)
                              .values(**values, updated_at=utcnow()))
        row = await session.scalar(select(Service).where(Service.id == located.service.id))
        assert row is not None
        return row


@router.get("/os-services")
async def list_services(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    runtime, version, params = runtime_of(request), version_of(request), request.query_params
    conditions = []
    if "host" in params:
        conditions.append(Service.host == params["host"])
    if "binary" in params:
        conditions.append(Service.binary == params["binary"])
    return {"services": [_view(found.service, runtime, version)
                         for found in await _located(runtime, *conditions)]}


@router.put("/os-services/{action}")
async def update_service(action: str, request: Request,
                         ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    runtime, version = runtime_of(request), version_of(request)
    body = await json_body(request)
    if version.at_least("2.53"):
        return await _update_by_uuid(runtime, version, action, body)
    return await _legacy_action(runtime, version, action, body)


async def _update_by_uuid(runtime: Runtime, version: Any, service_id: str, body: dict[str, Any]) -> dict[str, Any]:
    change = ServiceUpdate.model_validate(body)
    if change.status is None and change.disabled_reason is None and change.forced_down is None:
        raise bad_request("No updates were requested: give status, disabled_reason or forced_down.")
    if change.disabled_reason is not None and change.status != "disabled":
        raise bad_request("disabled_reason is only accepted with status 'disabled'.")
    located = await _one(runtime, service_id, by_uuid=True)
    if located.service.binary != COMPUTE and (change.status is not None or change.forced_down is not None):
        raise bad_request(f"Updating a {located.service.binary} service is not supported; only nova-compute.")
    values: dict[str, Any] = {}
    if change.status is not None:
        values["disabled"] = change.status == "disabled"
        values["disabled_reason"] = change.disabled_reason if change.status == "disabled" else None
    if change.forced_down is not None:
        values["forced_down"] = change.forced_down
    return {"service": _view(await _save(runtime, located, values), runtime, version)}


async def _legacy_action(runtime: Runtime, version: Any, action: str, body: dict[str, Any]) -> dict[str, Any]:
    actions = {"enable", "disable", "disable-log-reason"} | ({"force-down"} if version.at_least("2.11") else set())
    if action not in actions:
        raise not_found(f"Unknown action {action}: use one of {', '.join(sorted(actions))}.")
    target = HostBinary.model_validate(body)
    found = await _located(runtime, Service.host == target.host, Service.binary == target.binary)
    if not found:
        raise not_found(f"Service {target.binary} on host {target.host} could not be found.")
    reply: dict[str, Any] = {"host": target.host, "binary": target.binary}
    if action == "force-down":
        if target.forced_down is None:
            raise bad_request("'forced_down' is a required property")
        values: dict[str, Any] = {"forced_down": target.forced_down}
        reply["forced_down"] = target.forced_down
    elif action == "disable-log-reason":
        if target.disabled_reason is None:
            raise bad_request("'disabled_reason' is a required property")
        values = {"disabled": True, "disabled_reason": target.disabled_reason}
        reply.update(status="disabled", disabled_reason=target.disabled_reason)
    else:
        values = {"disabled": action == "disable", "disabled_reason": None}
        reply["status"] = "disabled" if action == "disable" else "enabled"
    await _save(runtime, found[0], values)
    return {"service": reply}


@router.delete("/os-services/{service_id}", status_code=204)
async def delete_service(service_id: str, request: Request,
                         ctx: RequestContext = Depends(admin_context_of)) -> Response:
    """Remove a service; a compute's nodes, host mapping and resource providers go with it."""
    runtime = runtime_of(request)
    located = await _one(runtime, service_id, by_uuid=version_of(request).at_least("2.53"))
    service = located.service
    node_uuids: list[str] = []
    async with runtime.require_cells().session(located.cell_uuid) as session, session.begin():
        if service.binary == COMPUTE:
            hosting = await session.scalar(select(func.count()).select_from(Instance).where(
                Instance.host == service.host, Instance.deleted == 0))
            if hosting:
                raise conflict("Unable to delete compute service that is hosting instances. "
                               "Migrate or delete the instances first.")
            node_uuids = list((await session.scalars(select(ComputeNode.uuid).where(
                ComputeNode.host == service.host, ComputeNode.deleted == 0))).all())
            await session.execute(update(ComputeNode).where(ComputeNode.host == service.host,
                                                            ComputeNode.deleted == 0)
                                  .values(deleted=ComputeNode.id))
        await session.execute(update(Service).where(Service.id == service.id).values(deleted=service.id))
    if service.binary == COMPUTE:
        async with runtime.require_api_db()() as session, session.begin():
            await session.execute(delete(HostMapping).where(HostMapping.host == service.host))
        placement = runtime.require_placement()
        for node_uuid in node_uuids:
            await placement.delete_resource_provider(ctx, node_uuid)
    return Response(status_code=204)
