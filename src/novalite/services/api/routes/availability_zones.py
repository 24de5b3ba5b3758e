"""os-availability-zone: the zones servers can be booted into (from aggregate metadata).

A compute host is in the zone its aggregates name, else in the default zone; services
that are not computes are in Nova's `internal` zone, shown only in the detail.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from novalite.context import RequestContext
from novalite.db.cell_models import Service
from novalite.services.api.deps import admin_context_of, context_of, runtime_of
from novalite.services.api.host_aggregates import zones_by_host
from novalite.services.api.routes.services import all_services
from novalite.services.api.service_status import service_is_up
from novalite.services.api.views.common import usec_time

router = APIRouter()

INTERNAL_ZONE = "internal"


async def _services_by_zone(request: Request) -> dict[str, list[Service]]:
    runtime = runtime_of(request)
    default_zone = runtime.settings.api.default_availability_zone
    async with runtime.require_api_db()() as session:
        zones = await zones_by_host(session)
    by_zone: dict[str, list[Service]] = {}
    for service in await all_services(request):
        if service.binary != "nova-compute":
            zone = INTERNAL_ZONE
        else:
            zone = min(zones.get(service.host, {default_zone}))
        by_zone.setdefault(zone, []).append(service)
    return by_zone


def _available(services: list[Service], down: float) -> bool:
    return any(service_is_up(s, down) and not s.disabled for s in services)


@router.get("/os-availability-zone")
async def list_zones(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    runtime = runtime_of(request)
    down = runtime.settings.service.service_down_time
    by_zone = await _services_by_zone(request)
    by_zone.pop(INTERNAL_ZONE, None)
    by_zone.setdefault(runtime.settings.api.default_availability_zone, [])
    return {"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": _available(services, down)}, "hosts": None}
        for zone, services in sorted(by_zone.items())
    ]}


@router.get("/os-availability-zone/detail")
async def list_zones_detail(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    runtime = runtime_of(request)
    down = runtime.settings.service.service_down_time
    by_zone = await _services_by_zone(request)
    by_zone.setdefault(runtime.settings.api.default_availability_zone, [])
    info = []
    for zone, services in sorted(by_zone.items()):
        hosts: dict[str, dict[str, Any]] = {}
        for service in services:
            hosts.setdefault(service.host, {})[service.binary] = {
                "available": service_is_up(service, down), "active": not service.disabled,
                "updated_at": usec_time(service.updated_at),
            }
        available = True if zone == INTERNAL_ZONE else _available(services, down)
        info.append({"zoneName": zone, "zoneState": {"available": available}, "hosts": hosts or None})
    return {"availabilityZoneInfo": info}
