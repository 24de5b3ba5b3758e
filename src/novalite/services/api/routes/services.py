"""os-services: the services of every cell with their state (admin only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from novalite.context import RequestContext
from novalite.db.cell_models import Service
from novalite.services.api.deps import admin_context_of, runtime_of, version_of
from novalite.services.api.service_status import service_state
from novalite.services.api.views.common import usec_time

router = APIRouter()


async def all_services(request: Request) -> list[Service]:
    cells = runtime_of(request).require_cells()
    found: list[Service] = []
    for cell in cells.cells_with_hosts():
        async with cells.session(cell.uuid) as session:
            found += (await session.scalars(select(Service).where(Service.deleted == 0).order_by(Service.id))).all()
    return found


@router.get("/os-services")
async def list_services(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    version, params = version_of(request), request.query_params
    runtime = runtime_of(request)
    zone = runtime.settings.api.default_availability_zone
    down = runtime.settings.service.service_down_time
    services = await all_services(request)
    if "host" in params:
        services = [s for s in services if s.host == params["host"]]
    if "binary" in params:
        services = [s for s in services if s.binary == params["binary"]]
    views = []
    for service in services:
        view: dict[str, Any] = {
            "id": service.uuid if version.at_least("2.53") else service.id,
            "binary": service.binary, "host": service.host,
            "zone": zone if service.binary == "nova-compute" else "internal",
            "status": "disabled" if service.disabled else "enabled",
            "state": service_state(service, down),
            "updated_at": usec_time(service.updated_at), "disabled_reason": service.disabled_reason,
        }
        if version.at_least("2.11"):
            view["forced_down"] = service.forced_down
        views.append(view)
    return {"services": views}
