"""Validate what a boot request asks of the scheduler: hints, server group, availability zone.

A bad hint is the user's mistake and must be a 400 now, not a server in ERROR later.
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.context import RequestContext
from novalite.db.api_models import InstanceMapping, ServerGroup, ServerGroupMember
from novalite.runtime import Runtime
from novalite.services.api.errors import bad_request, forbidden
from novalite.services.api.host_aggregates import known_zones
from novalite.services.scheduler.filters.json_filter import QueryError, parse_query


def _uuids(name: str, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise bad_request(f"Invalid input for field/attribute {name}. Value: {value!r}. It must not be empty.")
    for item in items:
        try:
            uuidlib.UUID(str(item))
        except ValueError:
            raise bad_request(f"Invalid input for field/attribute {name}. Value: {item!r}. "
                              "It is not a valid UUID.") from None
    return [str(i) for i in items]


async def check_zone(runtime: Runtime, ctx: RequestContext, requested: str | None) -> tuple[str | None, list[str]]:
    """(the zone, the hosts it forces) from `availability_zone`: "zone", or "zone:host" as in
    Nova, where naming a host is for admins only."""
    if requested is None:
        return None, []
    name, _, rest = requested.partition(":")
    forced: list[str] = []
    if rest:
        host, _, node = rest.partition(":")
        if node:
            raise bad_request(f"The availability zone '{requested}' names a node; novalite forces hosts only "
                              "(use 'zone:host').")
        if not ctx.is_admin:
            raise forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
        forced = [host]
    if not name:
        return None, forced
    zones = await known_zones(runtime)
    if name not in zones:
        raise bad_request(f"The requested availability zone '{requested}' is not available; "
                          f"known zones: {', '.join(sorted(zones))}")
    return name, forced


async def check_hints(runtime: Runtime, ctx: RequestContext, hints: dict[str, Any]) -> dict[str, Any] | None:
    """Check the hints the built-in filters read; return the server group the `group` hint names."""
    group: dict[str, Any] | None = None
    if not {"group", "same_host", "different_host"} & hints.keys():
        _check_query_hint(hints)
        return None
    async with runtime.require_api_db()() as session:
        if "group" in hints:
            ids = _uuids("group", hints["group"])
            if len(ids) != 1:
                raise bad_request("Invalid input for field/attribute group: name exactly one server group.")
            row = await session.scalar(select(ServerGroup).where(ServerGroup.uuid == ids[0]))
            if row is None or (not ctx.is_admin and row.project_id != ctx.project_id):
                raise bad_request(f"Invalid server group {ids[0]}: no such server group.")
            group = {"uuid": row.uuid, "name": row.name, "policy": row.policy, "rules": dict(row.rules or {})}
        for name in ("same_host", "different_host"):
            if name not in hints:
                continue
            ids = _uuids(name, hints[name])
            found = set((await session.scalars(select(InstanceMapping.instance_uuid).where(
                InstanceMapping.instance_uuid.in_(ids), InstanceMapping.queued_for_delete.is_(False),
                *([] if ctx.is_admin else [InstanceMapping.project_id == ctx.project_id])))).all())
            missing = [i for i in ids if i not in found]
            if missing:
                raise bad_request(f"Invalid {name} hint: server {missing[0]} could not be found.")
    _check_query_hint(hints)
    return group


def _check_query_hint(hints: dict[str, Any]) -> None:
    if "query" in hints:
        try:
            parse_query(hints["query"])
        except (ValueError, TypeError, QueryError) as exc:
            raise bad_request(f"Invalid query hint {hints['query']!r}: {exc}") from None


async def add_group_members(session: AsyncSession, group: dict[str, Any] | None, uuids: list[str]) -> None:
    """Record the new servers as members, in the transaction that records the servers."""
    if group is None:
        return
    group_id = await session.scalar(select(ServerGroup.id).where(ServerGroup.uuid == group["uuid"]))
    if group_id is None:
        raise bad_request(f"Invalid server group {group['uuid']}: it was deleted meanwhile.")
    session.add_all(ServerGroupMember(group_id=group_id, instance_uuid=u) for u in uuids)
