"""os-availability-zone: the zones servers can be booted into."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from novalite.context import RequestContext
from novalite.services.api.deps import admin_context_of, context_of, runtime_of
from novalite.services.api.routes.services import all_services
from novalite.services.api.service_status import service_is_up
from novalite.services.api.views.common import usec_time

router = APIRouter()


@router.get("/os-availability-zone")
async def list_zones(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    runtime = runtime_of(request)
    down = runtime.settings.service.service_down_time
    computes = [s for s in await all_services(request) if s.binary == "nova-compute"]
    available = any(service_is_up(s, down) and not s.disabled for s in computes)
    zone = runtime.settings.api.default_availability_zone
    return {"availabilityZoneInfo": [{"zoneName": zone, "zoneState": {"available": available}, "hosts": None}]}


@router.get("/os-availability-zone/detail")
async def list_zones_detail(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    runtime = runtime_of(request)
    down = runtime.settings.service.service_down_time
    zone = runtime.settings.api.default_availability_zone
    hosts: dict[str, dict[str, Any]] = {}
    available = False
    for service in await all_services(request):
        up = service_is_up(service, down)
        available = available or (up and not service.disabled)
        hosts.setdefault(service.host, {})[service.binary] = {
            "available": up, "active": not service.disabled, "updated_at": usec_time(service.updated_at),
        }
    return {"availabilityZoneInfo": [{"zoneName": zone, "zoneState": {"available": available}, "hosts": hosts}]}
