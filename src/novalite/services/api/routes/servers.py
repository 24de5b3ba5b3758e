"""Servers: create, list, show, delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from novalite.context import RequestContext
from novalite.services.api import server_create, server_delete, server_list
from novalite.services.api.deps import context_of, json_body, runtime_of, version_of
from novalite.services.api.routes.versions import base_url
from novalite.services.api.server_locator import locate
from novalite.services.api.uuids import require_uuid
from novalite.services.api.views import servers as views

router = APIRouter()


@router.post("/servers", status_code=202)
async def create_server(request: Request, ctx: RequestContext = Depends(context_of)) -> JSONResponse:
    body = await json_body(request)
    created = await server_create.create_servers(runtime_of(request), ctx, body, version_of(request))
    if created.return_reservation_id:
        return JSONResponse({"reservation_id": created.reservation_id}, status_code=202)
    base = base_url(request)
    first = created.uuids[0]
    server = {
        "id": first,
        "links": views.summary_view(first, "", base)["links"],
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
        "adminPass": created.admin_pass,
    }
    location = f"{base}/compute/v2.1/servers/{first}"
    return JSONResponse({"server": server}, status_code=202, headers={"Location": location})


async def _list(request: Request, ctx: RequestContext, detail: bool) -> dict[str, Any]:
    runtime, version = runtime_of(request), version_of(request)
    query = server_list.parse_query(list(request.query_params.multi_items()), ctx, version,
                                    runtime.settings.api.max_limit)
    query.minimal_for_down_cells = version.at_least("2.69")
    listed = await server_list.list_servers(runtime, query)
    base = base_url(request)
    servers = []
    for item in listed:
        if item.instance is None and item.build_request is None:  # its cell is down: what 2.69 shows
            minimal = {"id": item.uuid, "status": "UNKNOWN", "links": views.summary_view(item.uuid, "", base)["links"]}
            if detail:
                minimal.update(tenant_id=item.project_id, created=item.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
            servers.append(minimal)
        elif not detail:
            name = item.instance.display_name if item.instance else item.build_request["display_name"]  # type: ignore[index]
            servers.append(views.summary_view(item.uuid, name, base))
        elif item.instance is not None:
            servers.append(views.instance_view(item.instance, item.fault, base, version, ctx))
        else:
            servers.append(views.build_request_view(item.build_request or {}, base, version, ctx))
    body: dict[str, Any] = {"servers": servers}
    if listed and len(listed) == query.limit and "limit" in request.query_params:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", listed[-1].uuid))
        path = "servers/detail" if detail else "servers"
        body["servers_links"] = [{"rel": "next", "href": f"{base}/compute/v2.1/{path}?{urlencode(params)}"}]
    return body


@router.get("/servers")
async def list_servers(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    return await _list(request, ctx, detail=False)


@router.get("/servers/detail")
async def list_servers_detail(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    return await _list(request, ctx, detail=True)


@router.get("/servers/{server_id}")
async def show_server(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    require_uuid(server_id, "Instance")
    runtime, version = runtime_of(request), version_of(request)
    located = await locate(runtime, ctx, server_id)
    base = base_url(request)
    if located.instance is None:
        return {"server": views.build_request_view(located.build_request.instance, base, version, ctx)}  # type: ignore[union-attr]
    async with runtime.require_cells().session(located.cell_uuid) as session:  # type: ignore[arg-type]
        faults = await server_list.latest_faults(session, [server_id])
    return {"server": views.instance_view(located.instance, faults.get(server_id), base, version, ctx)}


@router.delete("/servers/{server_id}", status_code=204)
async def delete_server(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    require_uuid(server_id, "Instance")
    await server_delete.delete_server(runtime_of(request), ctx, server_id)
    return Response(status_code=204)
