"""POST /servers/{id}/action (reboot, stop, start, pause, suspend, rebuild, resize, migrate, lock,
console output...) and PUT /servers/{id}."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from novalite.context import RequestContext
from novalite.objects import instances
from novalite.runtime import Runtime
from novalite.services.api import server_action_ops as ops
from novalite.services.api.deps import context_of, json_body, runtime_of, version_of
from novalite.services.api.errors import bad_request, conflict, describe_validation, forbidden
from novalite.services.api.microversion import APIVersion
from novalite.services.api.routes.versions import base_url
from novalite.services.api.schemas import actions as schemas
from novalite.services.api.server_create import find_flavor
from novalite.services.api.server_list import latest_faults
from novalite.services.api.server_locator import locate
from novalite.services.api.uuids import require_uuid
from novalite.services.api.views.servers import instance_view
from novalite.services.compute.rpcapi import ComputeActionsAPI
from novalite.services.conductor.rpcapi import ConductorAPI
from novalite.states import TaskState

router = APIRouter()

Handler = Callable[[Request, RequestContext, str, Any], Awaitable[Response]]
_HANDLERS: dict[str, Handler] = {}

# action body key -> (state check, instance action name, task_state, compute method)
_SIMPLE = {
    "os-stop": ("stop", "stop", TaskState.POWERING_OFF, "stop_instance"),
    "os-start": ("start", "start", TaskState.POWERING_ON, "start_instance"),
    "pause": ("pause", "pause", TaskState.PAUSING, "pause_instance"),
    "unpause": ("unpause", "unpause", TaskState.UNPAUSING, "unpause_instance"),
    "suspend": ("suspend", "suspend", TaskState.SUSPENDING, "suspend_instance"),
    "resume": ("resume", "resume", TaskState.RESUMING, "resume_instance"),
}


def _parse(model: type[BaseModel], value: Any, action: str) -> Any:
    try:
        return model.model_validate(value if value is not None else {})
    except ValidationError as exc:
        raise bad_request(f"Invalid '{action}' request: {describe_validation(exc)}") from None


def _no_body(value: Any, action: str) -> None:
    if value not in (None, {}):
        raise bad_request(f"'{action}' takes no arguments (send {{\"{action}\": null}})")


def action(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[name] = fn
        return fn
    return register


def _compute(request: Request) -> ComputeActionsAPI:
    return ComputeActionsAPI(runtime_of(request).bus)


async def _simple(request: Request, ctx: RequestContext, uuid: str, key: str, value: Any) -> Response:
    _no_body(value, key)
    check, name, task_state, method = _SIMPLE[key]
    started = await ops.start_action(runtime_of(request), ctx, uuid, check=check, action=name, task_state=task_state)
    await _compute(request).cast_action(ctx, started.host, method, started.record)
    return Response(status_code=202)


@action("reboot")
async def _reboot(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    body = _parse(schemas.Reboot, value, "reboot")
    hard = body.type == "HARD"
    runtime = runtime_of(request)
    if not hard:
        located = await locate(runtime, ctx, uuid)
        if located.instance is not None and located.instance.vm_state != "active":
            raise conflict(f"Cannot 'reboot' instance {uuid} while it is in vm_state "
                               f"{located.instance.vm_state}: a SOFT reboot needs a running server, use HARD")
    started = await ops.start_action(runtime, ctx, uuid, check="reboot", action="reboot",
                                     task_state=TaskState.REBOOTING_HARD if hard else TaskState.REBOOTING)
    await _compute(request).cast_action(ctx, started.host, "reboot_instance", started.record, reboot_type=body.type)
    return Response(status_code=202)


@action("lock")
async def _lock(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    if value is not None and not version_of(request).at_least("2.73"):
        _no_body(value, "lock")
    body = _parse(schemas.Lock, value, "lock")
    await ops.set_lock(runtime_of(request), ctx, uuid, True, body.locked_reason)
    return Response(status_code=202)


@action("unlock")
async def _unlock(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    _no_body(value, "unlock")
    await ops.set_lock(runtime_of(request), ctx, uuid, False, None)
    return Response(status_code=202)


@action("os-getConsoleOutput")
async def _console(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    body = _parse(schemas.ConsoleOutput, value, "os-getConsoleOutput")
    instance, _ = await ops.load_for_action(runtime_of(request), ctx, uuid, "console_output", locked_ok=True)
    output = await _compute(request).get_console_output(ctx, instance.host or "", instances.to_record(instance),
                                                         body.length)
    return JSONResponse({"output": output})


@action("rebuild")
async def _rebuild(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    body = _parse(schemas.Rebuild, value, "rebuild")
    values: dict[str, Any] = {"image_ref": body.imageRef.rstrip("/").rsplit("/", 1)[-1]}
    if body.name is not None:
        values["display_name"] = body.name
    if body.metadata is not None:
        values["metadata_"] = body.metadata
    if body.description is not None:
        values["display_description"] = body.description
    runtime = runtime_of(request)
    started = await ops.start_action(runtime, ctx, uuid, check="rebuild", action="rebuild",
                                     task_state=TaskState.REBUILDING, values=values)
    image = {"id": values["image_ref"], "properties": started.record.system_metadata.get("image", {})}
    await _compute(request).cast_action(ctx, started.host, "rebuild_instance", started.record, image=image)
    view = await _server_view(request, ctx, uuid)
    view["adminPass"] = body.adminPass or ""
    return JSONResponse({"server": view}, status_code=202)


@action("resize")
async def _resize(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    body = _parse(schemas.Resize, value, "resize")
    runtime = runtime_of(request)
    new_flavor = await find_flavor(runtime, body.flavorRef)
    located = await locate(runtime, ctx, uuid)
    if located.instance is not None:
        current = located.instance.flavor
        if current.get("flavorid") == new_flavor.flavorid:
            raise bad_request("When resizing, instances must change flavor!")
        if new_flavor.root_gb < current.get("root_gb", 0):
            raise bad_request(f"Resizing to flavor {new_flavor.name} would shrink the root disk from "
                              f"{current.get('root_gb')} GB to {new_flavor.root_gb} GB; disks cannot shrink.")
    started = await ops.create_migration(runtime, ctx, uuid, check="resize", action="resize",
                                         new_flavor=new_flavor.model_dump(mode="json"))
    await _start_move(runtime, ctx, uuid, started, None)
    return Response(status_code=202)


@action("migrate")
async def _migrate(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    if not ctx.is_admin:
        raise forbidden()
    if value is not None and not version_of(request).at_least("2.56"):
        _no_body(value, "migrate")
    body = _parse(schemas.Migrate, value, "migrate")
    runtime = runtime_of(request)
    started = await ops.create_migration(runtime, ctx, uuid, check="migrate", action="migrate", new_flavor=None)
    await _start_move(runtime, ctx, uuid, started, body.host)
    return Response(status_code=202)


async def _start_move(runtime: Runtime, ctx: RequestContext, uuid: str, started: ops.Started,
                      host: str | None) -> None:
    assert started.migration_uuid is not None
    await ConductorAPI(runtime.bus).migrate_server(ctx, uuid, started.migration_uuid, host)


@action("confirmResize")
async def _confirm(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    _no_body(value, "confirmResize")
    runtime = runtime_of(request)
    instance, cell_uuid = await ops.load_for_action(runtime, ctx, uuid, "confirm_resize")
    migration = await ops.finished_migration(runtime, cell_uuid, uuid, "confirming")
    started = await ops.start_action(runtime, ctx, uuid, check="confirm_resize", action="confirmResize",
                                     task_state=None)
    await _compute(request).cast_action(ctx, migration["source_compute"], "confirm_resize", started.record,
                                        migration=migration)
    return Response(status_code=204)


@action("revertResize")
async def _revert(request: Request, ctx: RequestContext, uuid: str, value: Any) -> Response:
    _no_body(value, "revertResize")
    runtime = runtime_of(request)
    instance, cell_uuid = await ops.load_for_action(runtime, ctx, uuid, "revert_resize")
    migration = await ops.finished_migration(runtime, cell_uuid, uuid, "reverting")
    started = await ops.start_action(runtime, ctx, uuid, check="revert_resize", action="revertResize",
                                     task_state=TaskState.RESIZE_REVERTING)
    await _compute(request).cast_action(ctx, migration["dest_compute"], "revert_resize", started.record,
                                        migration=migration)
    return Response(status_code=202)


for _key in _SIMPLE:
    _HANDLERS[_key] = lambda request, ctx, uuid, value, _key=_key: _simple(request, ctx, uuid, _key, value)


@router.post("/servers/{server_id}/action")
async def server_action(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    require_uuid(server_id, "Instance")
    body = await json_body(request)
    if len(body) != 1:
        raise bad_request(f"An action body has exactly one key, the action; got {sorted(body) or 'none'}")
    (name, value), = body.items()
    handler = _HANDLERS.get(name)
    if handler is None:
        raise bad_request(f"There is no such action: {name}. Known actions: {', '.join(sorted(_HANDLERS))}")
    return await handler(request, ctx, server_id, value)


async def _server_view(request: Request, ctx: RequestContext, uuid: str) -> dict[str, Any]:
    runtime = runtime_of(request)
    located = await locate(runtime, ctx, uuid)
    assert located.instance is not None and located.cell_uuid is not None
    async with runtime.require_cells().session(located.cell_uuid) as session:
        faults = await latest_faults(session, [uuid])
    return instance_view(located.instance, faults.get(uuid), base_url(request), version_of(request), ctx)


@router.put("/servers/{server_id}")
async def update_server(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> JSONResponse:
    require_uuid(server_id, "Instance")
    version: APIVersion = version_of(request)
    raw = await json_body(request)
    server = raw.get("server") if isinstance(raw.get("server"), dict) else {}
    for field, since in (("description", "2.19"), ("hostname", "2.90")):
        if field in server and not version.at_least(since):
            raise bad_request(f"Additional properties are not allowed ('{field}' was unexpected); needs {since}")
    body = _parse(schemas.ServerUpdateRequest, raw, "update").server
    values: dict[str, Any] = {}
    mapping = {"name": "display_name", "description": "display_description", "hostname": "hostname",
               "accessIPv4": "access_ip_v4", "accessIPv6": "access_ip_v6"}
    for field, column in mapping.items():
        if field in body.model_fields_set:
            values[column] = getattr(body, field)
    runtime = runtime_of(request)
    located = await locate(runtime, ctx, server_id)
    if located.instance is None or located.cell_uuid is None:
        raise conflict(f"Cannot update instance {server_id} while it is being scheduled; try again shortly")
    if values:
        async with runtime.require_cells().session(located.cell_uuid) as session, session.begin():
            await instances.update(session, server_id, values)
    return JSONResponse({"server": await _server_view(request, ctx, server_id)})
