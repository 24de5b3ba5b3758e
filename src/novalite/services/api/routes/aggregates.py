"""os-aggregates: host aggregates, their hosts and metadata, availability zones (admin only)."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.context import RequestContext
from novalite.db.api_models import Aggregate, AggregateHost, AggregateMetadata
from novalite.db.types import utcnow
from novalite.services.api import host_aggregates
from novalite.services.api.deps import admin_context_of, json_body, require_key, runtime_of, version_of
from novalite.services.api.errors import ComputeFault, bad_request, conflict, describe_validation, not_found
from novalite.services.api.host_aggregates import ZONE_KEY
from novalite.services.api.microversion import APIVersion
from novalite.services.api.views.common import isotime
from novalite.services.placement.client import PlacementError

router = APIRouter()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AggregateBody(_Strict):
    name: str = Field(min_length=1, max_length=255)
    availability_zone: str | None = Field(None, min_length=1, max_length=255)

    @field_validator("name", "availability_zone")
    @classmethod
    def _no_edge_spaces(cls, value: str | None) -> str | None:
        if value is not None and value.strip() != value:
            raise ValueError("must not start or end with whitespace")
        return value


class AggregateUpdate(AggregateBody):
    name: str = Field(None, min_length=1, max_length=255)  # type: ignore[assignment]


class HostBody(_Strict):
    host: str = Field(min_length=1, max_length=255)


class MetadataBody(_Strict):
    metadata: dict[str, str | None]

    @field_validator("metadata")
    @classmethod
    def _keys(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        for key, item in value.items():
            if not key or len(key) > 255 or (item is not None and len(item) > 255):
                raise ValueError("keys and values must be 1 to 255 characters")
        return value


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise bad_request(describe_validation(exc)) from None


def aggregate_view(agg: Aggregate, version: APIVersion) -> dict[str, Any]:
    metadata = agg.metadata_dict
    view: dict[str, Any] = {
        "id": agg.id, "name": agg.name, "availability_zone": metadata.get(ZONE_KEY),
        "hosts": agg.host_names, "metadata": metadata, "created_at": isotime(agg.created_at),
        "updated_at": isotime(agg.updated_at), "deleted_at": None, "deleted": False,
    }
    if version.at_least("2.41"):
        view["uuid"] = agg.uuid
    return view


async def _get(session: AsyncSession, aggregate_id: str) -> Aggregate:
    query = select(Aggregate)
    if aggregate_id.isdigit():
        query = query.where(Aggregate.id == int(aggregate_id))
    else:
        query = query.where(Aggregate.uuid == aggregate_id)
    agg = await session.scalar(query)
    if agg is None:
        raise not_found(f"Aggregate {aggregate_id} could not be found.")
    return agg


async def _check_zone_change(session: AsyncSession, agg: Aggregate, zone: str | None) -> None:
    """A host lives in one availability zone: refuse a change that would put one of ours in two."""
    if zone == "internal":
        raise bad_request("The availability zone name 'internal' is reserved for services that are not computes.")
    if zone is None:
        return
    zones = await host_aggregates.zones_by_host(session, exclude_aggregate=agg.id)
    for host in agg.host_names:
        clash = sorted(z for z in zones.get(host, set()) if z != zone)
        if clash:
            raise conflict(f"Cannot set availability zone {zone} on aggregate {agg.name}: host {host} is already "
                           f"in availability zone(s) {', '.join(clash)}.")


@router.get("/os-aggregates")
async def list_aggregates(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    async with runtime_of(request).require_api_db()() as session:
        rows = (await session.scalars(select(Aggregate).order_by(Aggregate.id))).all()
        return {"aggregates": [aggregate_view(a, version_of(request)) for a in rows]}


@router.post("/os-aggregates")
async def create_aggregate(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    body = _parse(AggregateBody, require_key(await json_body(request), "aggregate"))
    if body.availability_zone == "internal":
        raise bad_request("The availability zone name 'internal' is reserved for services that are not computes.")
    async with runtime_of(request).require_api_db()() as session:
        async with session.begin():
            if await session.scalar(select(Aggregate.id).where(Aggregate.name == body.name)) is not None:
                raise conflict(f"Aggregate {body.name} already exists.")
            agg = Aggregate(uuid=str(uuidlib.uuid4()), name=body.name, hosts=[], metadata_items=[])
            if body.availability_zone:
                agg.metadata_items.append(AggregateMetadata(key=ZONE_KEY, value=body.availability_zone))
            session.add(agg)
            try:
                await session.flush()
            except IntegrityError:
                raise conflict(f"Aggregate {body.name} already exists.") from None
        await session.refresh(agg)
        return {"aggregate": aggregate_view(agg, version_of(request))}


@router.get("/os-aggregates/{aggregate_id}")
async def show_aggregate(aggregate_id: str, request: Request,
                         ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    async with runtime_of(request).require_api_db()() as session:
        return {"aggregate": aggregate_view(await _get(session, aggregate_id), version_of(request))}


@router.put("/os-aggregates/{aggregate_id}")
async def update_aggregate(aggregate_id: str, request: Request,
                           ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    raw = require_key(await json_body(request), "aggregate")
    body = _parse(AggregateUpdate, raw)
    if not isinstance(raw, dict) or not raw:
        raise bad_request("The aggregate update needs 'name' or 'availability_zone'.")
    async with runtime_of(request).require_api_db()() as session:
        async with session.begin():
            agg = await _get(session, aggregate_id)
            if body.name and body.name != agg.name:
                if await session.scalar(select(Aggregate.id).where(Aggregate.name == body.name)) is not None:
                    raise conflict(f"Aggregate {body.name} already exists.")
                agg.name = body.name
            if "availability_zone" in raw:
                await _check_zone_change(session, agg, body.availability_zone)
                _set_metadata(agg, {ZONE_KEY: body.availability_zone})
            agg.updated_at = utcnow()
        await session.refresh(agg)
        return {"aggregate": aggregate_view(agg, version_of(request))}


@router.delete("/os-aggregates/{aggregate_id}", status_code=200)
async def delete_aggregate(aggregate_id: str, request: Request,
                           ctx: RequestContext = Depends(admin_context_of)) -> Response:
    async with runtime_of(request).require_api_db()() as session, session.begin():
        agg = await _get(session, aggregate_id)
        if agg.hosts:
            raise bad_request(f"Cannot delete aggregate {agg.name}: it still has hosts "
                              f"({', '.join(agg.host_names)}); remove them first.")
        await session.delete(agg)
    return Response(status_code=200)


def _set_metadata(agg: Aggregate, changes: dict[str, str | None]) -> None:
    items = {m.key: m for m in agg.metadata_items}
    for key, value in changes.items():
        if value is None:
            if key in items:
                agg.metadata_items.remove(items[key])
        elif key in items:
            items[key].value = value
        else:
            agg.metadata_items.append(AggregateMetadata(key=key, value=value))


@router.post("/os-aggregates/{aggregate_id}/action")
async def aggregate_action(aggregate_id: str, request: Request,
                           ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    body = await json_body(request)
    if len(body) != 1 or next(iter(body)) not in ("add_host", "remove_host", "set_metadata"):
        raise bad_request("The action body must have exactly one of add_host, remove_host, set_metadata.")
    action, args = next(iter(body.items()))
    runtime = runtime_of(request)
    host, nodes = "", []
    if action != "set_metadata":
        host = _parse(HostBody, args).host
        nodes = await host_aggregates.node_uuids(runtime, host)
        if nodes is None and action == "add_host":
            raise not_found(f"Compute host {host} could not be found.")
    async with runtime.require_api_db()() as session:
        async with session.begin():
            agg = await _get(session, aggregate_id)
            if action == "set_metadata":
                changes = _parse(MetadataBody, args).metadata
                if ZONE_KEY in changes:
                    await _check_zone_change(session, agg, changes[ZONE_KEY])
                _set_metadata(agg, changes)
            else:
                await (_add_host if action == "add_host" else _remove_host)(session, agg, host)
                await session.flush()
                try:
                    await host_aggregates.sync_host(runtime, ctx, session, host, nodes or [])
                except PlacementError as exc:  # the transaction rolls back: nothing half-written
                    raise ComputeFault(503, f"Placement refused the aggregate change for host {host}: "
                                            f"{exc.detail}") from None
            agg.updated_at = utcnow()
        await session.refresh(agg)
        return {"aggregate": aggregate_view(agg, version_of(request))}


async def _add_host(session: AsyncSession, agg: Aggregate, host: str) -> None:
    if host in agg.host_names:
        raise conflict(f"Aggregate {agg.name} already has host {host}.")
    zone = agg.metadata_dict.get(ZONE_KEY)
    if zone:
        others = await host_aggregates.zones_by_host(session, exclude_aggregate=agg.id)
        clash = sorted(z for z in others.get(host, set()) if z != zone)
        if clash:
            raise conflict(f"Cannot add host {host} to aggregate {agg.name}: the host is already in "
                           f"availability zone(s) {', '.join(clash)}.")
    agg.hosts.append(AggregateHost(host=host))


async def _remove_host(session: AsyncSession, agg: Aggregate, host: str) -> None:
    row = next((h for h in agg.hosts if h.host == host), None)
    if row is None:
        raise not_found(f"Cannot remove host {host} in aggregate {agg.name}: the host is not in it.")
    agg.hosts.remove(row)
