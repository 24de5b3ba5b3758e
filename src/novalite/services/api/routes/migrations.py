"""os-migrations: resizes and cold migrations of every cell (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from novalite.context import RequestContext
from novalite.db.cell_models import Migration
from novalite.services.api.deps import admin_context_of, runtime_of, version_of
from novalite.services.api.errors import bad_request
from novalite.services.api.server_list import parse_limit
from novalite.services.api.views.common import usec_time

router = APIRouter()

_FILTERS = {"host", "status", "instance_uuid", "migration_type", "source_compute", "user_id", "project_id"}


@router.get("/os-migrations")
async def list_migrations(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    version, params = version_of(request), request.query_params
    runtime = runtime_of(request)
    cells = runtime.require_cells()
    rows: list[Migration] = []
    for cell in cells.cells_with_hosts():
        stmt = select(Migration)
        for name in _FILTERS & set(params):
            if name == "host":
                stmt = stmt.where((Migration.source_compute == params[name]) | (Migration.dest_compute == params[name]))
            else:
                stmt = stmt.where(getattr(Migration, name) == params[name])
        async with cells.session(cell.uuid) as session:
            rows += (await session.scalars(stmt)).all()
    rows.sort(key=lambda m: (m.created_at, m.id), reverse=True)
    if version.at_least("2.59"):
        if "marker" in params:
            uuids = [m.uuid for m in rows]
            if params["marker"] not in uuids:
                raise bad_request(f"Marker {params['marker']} could not be found.")
            rows = rows[uuids.index(params["marker"]) + 1:]
        rows = rows[: parse_limit(params.get("limit"), runtime.settings.api.max_limit)]
    views = []
    for m in rows:
        view: dict[str, Any] = {
            "id": m.id, "instance_uuid": m.instance_uuid, "status": m.status,
            "source_compute": m.source_compute, "source_node": m.source_node,
            "dest_compute": m.dest_compute, "dest_node": m.dest_node, "dest_host": None,
            "old_instance_type_id": m.old_flavor.get("flavorid"), "new_instance_type_id": m.new_flavor.get("flavorid"),
            "source_region": runtime.settings.service.region, "dest_region": runtime.settings.service.region,
            "created_at": usec_time(m.created_at), "updated_at": usec_time(m.updated_at),
        }
        if version.at_least("2.23"):
            view["migration_type"] = m.migration_type
        if version.at_least("2.59"):
            view["uuid"] = m.uuid
        if version.at_least("2.80"):
            view["user_id"], view["project_id"] = m.user_id, m.project_id
        views.append(view)
    return {"migrations": views}
