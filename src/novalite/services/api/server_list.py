"""GET /servers and /servers/detail: build requests and every cell, merged and paged."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import DBAPIError

from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest, InstanceMapping
from novalite.db.cell_models import Instance, InstanceFault
from novalite.runtime import Runtime
from novalite.services.api.errors import bad_request
from novalite.services.api.microversion import APIVersion
from novalite.services.api.server_sort import (
    DEFAULT_ORDER, Order, after_marker, comes_after, order_by, parse_sort, sort_key, values_of,
)
from novalite.states import TaskState, vm_states_for_status

LOG = logging.getLogger(__name__)

# What a cell database that is down or unreachable raises when we open a session on it.
CELL_DOWN_ERRORS = (OSError, DBAPIError, asyncio.TimeoutError)

# Query parameters Nova accepts on server lists; from 2.75 anything else is a 400.
ALLOWED_PARAMS = {
    "name", "status", "host", "node", "image", "flavor", "limit", "marker", "sort_key", "sort_dir",
    "all_tenants", "project_id", "tenant_id", "user_id", "changes-since", "changes-before",
    "deleted", "ip", "ip6", "reservation_id", "availability_zone", "locked", "tags", "tags-any",
    "not-tags", "not-tags-any", "key_name", "config_drive", "access_ip_v4", "access_ip_v6",
    "hostname", "description", "uuid", "vm_state", "task_state", "power_state", "progress",
    "launch_index", "terminated_at", "launched_at", "created_at", "display_name",
    "display_description", "kernel_id", "ramdisk_id", "root_device_name", "instance_type_id",
}
ADMIN_ONLY = {"host", "node", "all_tenants", "project_id", "tenant_id", "deleted"}


@dataclass
class ListQuery:
    limit: int
    marker: str | None = None
    name: str | None = None
    vm_states: list[str] | None = None
    task_states: list[str | None] | None = None
    host: str | None = None
    project_id: str | None = None
    image: str | None = None
    flavor: str | None = None
    changes_since: dt.datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # From 2.69 the servers of a cell that cannot be reached are listed as minimal records.
    minimal_for_down_cells: bool = False
    order: Order = DEFAULT_ORDER


_STATUS_TASKS = {
    "REBOOT": [TaskState.REBOOTING, TaskState.REBOOT_PENDING],
    "HARD_REBOOT": [TaskState.REBOOTING_HARD, TaskState.REBOOT_PENDING_HARD],
}


def parse_limit(raw: str | None, max_limit: int) -> int:
    if raw is None:
        return max_limit
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"limit param must be an integer, got '{raw}'") from None
    if value < 0:
        raise bad_request(f"limit param must be positive, got {value}")
    return min(value, max_limit)


def parse_query(params: list[tuple[str, str]], ctx: RequestContext, version: APIVersion,
                max_limit: int) -> ListQuery:
    values: dict[str, str] = {}
    for key, value in params:
        if key not in ALLOWED_PARAMS:
            if version.at_least("2.75"):
                raise bad_request(f"Invalid input for query parameters {key}. Additional properties are not allowed")
            continue
        if key in ADMIN_ONLY and not ctx.is_admin:
            continue  # Nova ignores admin-only filters from other users
        values[key] = value
    query = ListQuery(limit=parse_limit(values.get("limit"), max_limit), marker=values.get("marker"),
                      order=parse_sort(params, ctx, version))
    if "name" in values:
        try:
            re.compile(values["name"])
        except re.error as exc:
            raise bad_request(f"Invalid regular expression in name filter '{values['name']}': {exc}") from None
        query.name = values["name"]
    if "status" in values:
        status = values["status"].upper()
        if status in _STATUS_TASKS:
            query.vm_states, query.task_states = ["active"], list(_STATUS_TASKS[status])
        else:
            query.vm_states = vm_states_for_status(status)
    query.host = values.get("host")
    all_tenants = values.get("all_tenants") is not None and values.get("all_tenants", "").lower() not in ("0", "false")
    project = values.get("project_id") or values.get("tenant_id")
    if ctx.is_admin and (all_tenants or project):
        query.project_id = project
    else:
        query.project_id = ctx.project_id
    query.image = values.get("image")
    query.flavor = values.get("flavor")
    if "changes-since" in values:
        try:
            query.changes_since = dt.datetime.fromisoformat(values["changes-since"].replace("Z", "+00:00"))
        except ValueError:
            raise bad_request(f"changes-since '{values['changes-since']}' is not an ISO 8601 time") from None
        query.changes_since = query.changes_since.astimezone(dt.timezone.utc).replace(tzinfo=None) \
            if query.changes_since.tzinfo else query.changes_since
    return query


@dataclass
class ListedServer:
    created_at: dt.datetime
    uuid: str
    values: tuple[Any, ...]  # the server's values for the list's sort order
    instance: Instance | None = None
    build_request: dict[str, Any] | None = None
    fault: InstanceFault | None = None
    project_id: str | None = None  # set on the minimal record of a server in a down cell


def _build_request_values(order: Order, row: BuildRequest) -> tuple[Any, ...]:
    return values_of(order, lambda key: row.created_at if key == "created_at" else
                     row.instance_uuid if key == "uuid" else row.instance.get(key))


def _mapping_values(order: Order, row: InstanceMapping) -> tuple[Any, ...]:
    """A server of a down cell: the API database knows its creation time and id, nothing more."""
    return values_of(order, lambda key: {"created_at": row.created_at, "uuid": row.instance_uuid}.get(key))


async def _marker_values(runtime: Runtime, marker: str, order: Order) -> tuple[Any, ...]:
    async with runtime.require_api_db()() as session:
        mapping = await session.scalar(select(InstanceMapping).where(InstanceMapping.instance_uuid == marker))
        if mapping is not None and mapping.cell is None:
            br = await session.scalar(select(BuildRequest).where(BuildRequest.instance_uuid == marker))
            if br is not None:
                return _build_request_values(order, br)
    if mapping is not None and mapping.cell is not None:
        try:
            async with runtime.require_cells().session(mapping.cell.uuid) as session:
                instance = await session.scalar(select(Instance).where(Instance.uuid == marker))
        except CELL_DOWN_ERRORS:
            # Its cell is down (a 2.69 client paging past an UNKNOWN server): the mapping knows enough.
            return _mapping_values(order, mapping)
        if instance is not None:
            return values_of(order, lambda key: getattr(instance, key))
    raise bad_request(f"marker [{marker}] not found")


async def list_servers(runtime: Runtime, query: ListQuery) -> list[ListedServer]:
    """In the query's order: by default newest first (created_at, then uuid, descending), as Nova."""
    marker = await _marker_values(runtime, query.marker, query.order) if query.marker else None
    found: list[ListedServer] = []
    if query.limit == 0:
        return found
    found += await _build_requests(runtime, query, marker)
    cells = runtime.require_cells()
    for cell_uuid in cells.cells:
        try:
            found += await _cell_instances(runtime, cell_uuid, query, marker)
        except CELL_DOWN_ERRORS as exc:
            LOG.warning("cell %s is unreachable while listing servers: %s", cell_uuid, exc)
            if query.minimal_for_down_cells:
                found += await _down_cell_instances(runtime, cell_uuid, query, marker)
    merge_key = sort_key(query.order)
    found.sort(key=lambda s: merge_key(s.values))
    return found[: query.limit]


async def _down_cell_instances(runtime: Runtime, cell_uuid: str, query: ListQuery,
                               marker: tuple[Any, ...] | None) -> list[ListedServer]:
    """What the API database alone knows of a down cell's servers: their mappings."""
    cell = runtime.require_cells().cells[cell_uuid]
    stmt = select(InstanceMapping).where(InstanceMapping.cell_id == cell.id,
                                         InstanceMapping.queued_for_delete.is_(False))
    if query.project_id:
        stmt = stmt.where(InstanceMapping.project_id == query.project_id)
    paged_here = query.order == DEFAULT_ORDER  # the mapping has both sort columns: the database pages
    if paged_here:
        if marker:
            stmt = stmt.where(or_(InstanceMapping.created_at < marker[0],
                                  and_(InstanceMapping.created_at == marker[0],
                                       InstanceMapping.instance_uuid < marker[1])))
        stmt = stmt.order_by(InstanceMapping.created_at.desc(), InstanceMapping.instance_uuid.desc())
        stmt = stmt.limit(query.limit)
    async with runtime.require_api_db()() as session:
        rows = (await session.scalars(stmt)).all()
    listed = [ListedServer(created_at=r.created_at, uuid=r.instance_uuid, values=_mapping_values(query.order, r),
                           project_id=r.project_id) for r in rows]
    if paged_here or marker is None:
        return listed
    return [s for s in listed if comes_after(query.order, s.values, marker)]


async def _build_requests(runtime: Runtime, query: ListQuery,
                          marker: tuple[Any, ...] | None) -> list[ListedServer]:
    """Servers not yet in a cell: few and short-lived, so sorted and paged here rather than in SQL."""
    if query.host or (query.vm_states is not None and "building" not in query.vm_states) or query.task_states:
        return []
    stmt = select(BuildRequest)
    if query.project_id:
        stmt = stmt.where(BuildRequest.project_id == query.project_id)
    # Filters run in the query, before the limit, so a page is never cut short by them.
    if query.name:
        stmt = stmt.where(BuildRequest.instance["display_name"].as_string().regexp_match(query.name))
    if query.image:
        stmt = stmt.where(BuildRequest.instance["image_ref"].as_string() == query.image)
    if query.flavor:
        stmt = stmt.where(BuildRequest.instance["flavor"]["flavorid"].as_string() == query.flavor)
    async with runtime.require_api_db()() as session:
        rows = (await session.scalars(stmt)).all()
    listed = [ListedServer(created_at=row.created_at, uuid=row.instance_uuid,
                           values=_build_request_values(query.order, row), build_request=row.instance)
              for row in rows]
    listed = [s for s in listed if marker is None or comes_after(query.order, s.values, marker)]
    merge_key = sort_key(query.order)
    return sorted(listed, key=lambda s: merge_key(s.values))[: query.limit]


async def _cell_instances(runtime: Runtime, cell_uuid: str, query: ListQuery,
                          marker: tuple[Any, ...] | None) -> list[ListedServer]:
    stmt = select(Instance).where(Instance.deleted == 0)
    if query.project_id:
        stmt = stmt.where(Instance.project_id == query.project_id)
    if query.name:
        stmt = stmt.where(Instance.display_name.regexp_match(query.name))
    if query.vm_states is not None:
        stmt = stmt.where(Instance.vm_state.in_(query.vm_states))
    if query.task_states:
        stmt = stmt.where(Instance.task_state.in_(query.task_states))
    if query.host:
        stmt = stmt.where(Instance.host == query.host)
    if query.image:
        stmt = stmt.where(Instance.image_ref == query.image)
    if query.flavor:
        stmt = stmt.where(Instance.flavor["flavorid"].as_string() == query.flavor)
    if query.changes_since:
        stmt = stmt.where(Instance.updated_at >= query.changes_since)
    if marker:
        stmt = stmt.where(after_marker(query.order, marker))
    stmt = stmt.order_by(*order_by(query.order)).limit(query.limit)
    async with runtime.require_cells().session(cell_uuid) as session:
        rows = list((await session.scalars(stmt)).all())
        faults = await latest_faults(session, [r.uuid for r in rows if r.vm_state == "error"])
    return [ListedServer(created_at=r.created_at, uuid=r.uuid, instance=r, fault=faults.get(r.uuid),
                         values=values_of(query.order, functools.partial(getattr, r))) for r in rows]


async def latest_faults(session: Any, uuids: list[str]) -> dict[str, InstanceFault]:
    if not uuids:
        return {}
    rows = (await session.scalars(
        select(InstanceFault).where(InstanceFault.instance_uuid.in_(uuids)).order_by(InstanceFault.id)
    )).all()
    return {row.instance_uuid: row for row in rows}  # later rows win: the newest fault per instance
