"""os-hypervisors: the compute nodes of every cell (admin only)."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from novalite.context import RequestContext
from novalite.db.cell_models import ComputeNode, Service
from novalite.services.api.deps import admin_context_of, runtime_of, version_of
from novalite.services.api.errors import bad_request, not_found
from novalite.services.api.microversion import APIVersion
from novalite.services.api.service_status import service_state
from novalite.services.api.server_list import parse_limit

router = APIRouter()


@dataclass
class Node:
    node: ComputeNode
    service: Service | None


async def _nodes(request: Request) -> list[Node]:
    cells = runtime_of(request).require_cells()
    nodes: list[Node] = []
    for cell in cells.cells_with_hosts():
        async with cells.session(cell.uuid) as session:
            rows = (await session.execute(
                select(ComputeNode, Service).outerjoin(Service, Service.id == ComputeNode.service_id)
                .where(ComputeNode.deleted == 0).order_by(ComputeNode.id)
            )).all()
        nodes += [Node(node, service) for node, service in rows]
    return nodes


def _view(item: Node, version: APIVersion, detail: bool, down_time: float) -> dict[str, Any]:
    node, service = item.node, item.service
    view: dict[str, Any] = {
        "id": node.uuid if version.at_least("2.53") else node.id,
        "hypervisor_hostname": node.hypervisor_hostname,
        "state": service_state(service, down_time) if service else "down",
        "status": "disabled" if service and service.disabled else "enabled",
    }
    if not detail:
        return view
    view.update({
        "hypervisor_type": node.hypervisor_type, "hypervisor_version": node.hypervisor_version,
        "host_ip": node.host_ip,
        "service": {"host": node.host, "id": (service.uuid if version.at_least("2.53") else service.id)
                    if service else None, "disabled_reason": service.disabled_reason if service else None},
    })
    if version.at_least("2.88"):
        view["uptime"] = None
    else:
        view.update({
            "vcpus": node.vcpus, "memory_mb": node.memory_mb, "local_gb": node.local_gb,
            "vcpus_used": node.vcpus_used, "memory_mb_used": node.memory_mb_used,
            "local_gb_used": node.local_gb_used, "free_ram_mb": node.memory_mb - node.memory_mb_used,
            "free_disk_gb": node.local_gb - node.local_gb_used, "current_workload": 0,
            "running_vms": node.running_vms, "disk_available_least": node.local_gb - node.local_gb_used,
            "cpu_info": node.cpu_info,
        })
    return view


async def _list(request: Request, detail: bool) -> dict[str, Any]:
    version, params = version_of(request), request.query_params
    nodes = await _nodes(request)
    if "hypervisor_hostname_pattern" in params:
        pattern = params["hypervisor_hostname_pattern"]
        nodes = [n for n in nodes if pattern in n.node.hypervisor_hostname]
    if version.at_least("2.33"):
        if "marker" in params:
            ids = [n.node.uuid if version.at_least("2.53") else str(n.node.id) for n in nodes]
            if params["marker"] not in ids:
                raise bad_request(f"marker [{params['marker']}] not found")
            nodes = nodes[ids.index(params["marker"]) + 1:]
        nodes = nodes[: parse_limit(params.get("limit"), runtime_of(request).settings.api.max_limit)]
    down = runtime_of(request).settings.service.service_down_time
    return {"hypervisors": [_view(n, version, detail, down) for n in nodes]}


@router.get("/os-hypervisors")
async def list_hypervisors(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    return await _list(request, detail=False)


@router.get("/os-hypervisors/detail")
async def list_hypervisors_detail(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    return await _list(request, detail=True)


@router.get("/os-hypervisors/{hypervisor_id}")
async def show_hypervisor(hypervisor_id: str, request: Request,
                          ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    version = version_of(request)
    if version.at_least("2.53"):
        try:
            uuidlib.UUID(hypervisor_id)
        except ValueError:
            raise bad_request(f"Invalid uuid {hypervisor_id}") from None
    for item in await _nodes(request):
        ident = item.node.uuid if version.at_least("2.53") else str(item.node.id)
        if ident == hypervisor_id:
            down = runtime_of(request).settings.service.service_down_time
            return {"hypervisor": _view(item, version, True, down)}
    raise not_found(f"Hypervisor {hypervisor_id} could not be found.")
