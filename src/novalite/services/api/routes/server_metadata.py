"""Server metadata and tags (2.26): small per-server key/values and labels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from novalite.context import RequestContext
from novalite.objects import instances
from novalite.services.api.deps import context_of, json_body, runtime_of, version_of
from novalite.services.api.errors import ComputeFault, bad_request, conflict, not_found
from novalite.services.api.server_locator import locate
from novalite.services.api.uuids import require_uuid

router = APIRouter()

MAX_METADATA_ITEMS = 128
MAX_TAGS = 50


async def _instance(request: Request, ctx: RequestContext, uuid: str, writing: bool = False) -> Any:
    require_uuid(uuid, "Instance")
    located = await locate(runtime_of(request), ctx, uuid)
    if located.instance is None:
        raise conflict(f"Cannot change instance {uuid} while it is in vm_state building (being scheduled)")
    if writing and located.instance.locked and not ctx.is_admin:
        raise conflict(f"Instance {uuid} is locked")
    return located


async def _save(request: Request, located: Any, values: dict[str, Any]) -> None:
    async with runtime_of(request).require_cells().session(located.cell_uuid) as session, session.begin():
        await instances.update(session, located.instance.uuid, values)


def _check_metadata(items: Any) -> dict[str, str]:
    if not isinstance(items, dict):
        raise bad_request("metadata must be an object of string keys and string values")
    for key, value in items.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255 or not isinstance(value, str) or len(value) > 255:
            raise bad_request(f"Invalid metadata item {key!r}: keys are 1-255 characters, values strings of "
                              "at most 255 characters")
    if len(items) > MAX_METADATA_ITEMS:
        raise ComputeFault(403, f"Quota exceeded for metadata items: {len(items)} given, "
                                f"{MAX_METADATA_ITEMS} allowed")
    return items


async def _body(request: Request, key: str) -> Any:
    body = await json_body(request)
    if set(body) != {key}:
        raise bad_request(f"The body must be {{\"{key}\": ...}}")
    return body[key]


@router.get("/servers/{server_id}/metadata")
async def show_metadata(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    return {"metadata": (await _instance(request, ctx, server_id)).instance.metadata_ or {}}


@router.post("/servers/{server_id}/metadata")
async def merge_metadata(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    items = _check_metadata(await _body(request, "metadata"))
    located = await _instance(request, ctx, server_id, writing=True)
    merged = _check_metadata({**(located.instance.metadata_ or {}), **items})
    await _save(request, located, {"metadata_": merged})
    return {"metadata": merged}


@router.put("/servers/{server_id}/metadata")
async def replace_metadata(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    items = _check_metadata(await _body(request, "metadata"))
    located = await _instance(request, ctx, server_id, writing=True)
    await _save(request, located, {"metadata_": items})
    return {"metadata": items}


@router.get("/servers/{server_id}/metadata/{key}")
async def show_metadata_item(server_id: str, key: str, request: Request,
                             ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    metadata = (await _instance(request, ctx, server_id)).instance.metadata_ or {}
    if key not in metadata:
        raise not_found(f"Metadata item {key} was not found")
    return {"meta": {key: metadata[key]}}


@router.put("/servers/{server_id}/metadata/{key}")
async def set_metadata_item(server_id: str, key: str, request: Request,
                            ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    meta = await _body(request, "meta")
    if not isinstance(meta, dict) or list(meta) != [key]:
        raise bad_request(f"The body must be {{\"meta\": {{\"{key}\": \"value\"}}}} with the key from the URL")
    _check_metadata(meta)
    located = await _instance(request, ctx, server_id, writing=True)
    merged = _check_metadata({**(located.instance.metadata_ or {}), **meta})
    await _save(request, located, {"metadata_": merged})
    return {"meta": meta}


@router.delete("/servers/{server_id}/metadata/{key}", status_code=204)
async def delete_metadata_item(server_id: str, key: str, request: Request,
                               ctx: RequestContext = Depends(context_of)) -> Response:
    located = await _instance(request, ctx, server_id, writing=True)
    metadata = dict(located.instance.metadata_ or {})
    if metadata.pop(key, None) is None:
        raise not_found(f"Metadata item {key} was not found")
    await _save(request, located, {"metadata_": metadata})
    return Response(status_code=204)


def _require_tags_version(request: Request) -> None:
    if not version_of(request).at_least("2.26"):
        raise not_found("The resource could not be found (server tags need microversion 2.26).")


def _check_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "/" in tag or "," in tag:
        raise bad_request(f"Invalid tag {tag!r}: tags are 1-60 characters without '/' or ','")
    return tag


def _tags(located: Any) -> list[str]:
    return list((located.instance.tags or {}).get("tags", []))


@router.get("/servers/{server_id}/tags")
async def list_tags(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    _require_tags_version(request)
    return {"tags": _tags(await _instance(request, ctx, server_id))}


@router.put("/servers/{server_id}/tags")
async def replace_tags(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    _require_tags_version(request)
    tags = await _body(request, "tags")
    if not isinstance(tags, list):
        raise bad_request("tags must be a list of strings")
    tags = list(dict.fromkeys(_check_tag(t) for t in tags))
    if len(tags) > MAX_TAGS:
        raise bad_request(f"A server has at most {MAX_TAGS} tags; {len(tags)} given")
    await _save(request, await _instance(request, ctx, server_id, writing=True), {"tags": {"tags": tags}})
    return {"tags": tags}


@router.delete("/servers/{server_id}/tags", status_code=204)
async def delete_tags(server_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    _require_tags_version(request)
    await _save(request, await _instance(request, ctx, server_id, writing=True), {"tags": {"tags": []}})
    return Response(status_code=204)


@router.get("/servers/{server_id}/tags/{tag}", status_code=204)
async def check_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    _require_tags_version(request)
    if tag not in _tags(await _instance(request, ctx, server_id)):
        raise not_found(f"Tag {tag} was not found on server {server_id}")
    return Response(status_code=204)


@router.put("/servers/{server_id}/tags/{tag}")
async def add_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    _require_tags_version(request)
    _check_tag(tag)
    located = await _instance(request, ctx, server_id, writing=True)
    tags = _tags(located)
    if tag in tags:
        return Response(status_code=204)
    if len(tags) >= MAX_TAGS:
        raise bad_request(f"A server has at most {MAX_TAGS} tags")
    await _save(request, located, {"tags": {"tags": [*tags, tag]}})
    return Response(status_code=201, headers={"Location": str(request.url)})


@router.delete("/servers/{server_id}/tags/{tag}", status_code=204)
async def delete_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    _require_tags_version(request)
    located = await _instance(request, ctx, server_id, writing=True)
    tags = _tags(located)
    if tag not in tags:
        raise not_found(f"Tag {tag} was not found on server {server_id}")
    await _save(request, located, {"tags": {"tags": [t for t in tags if t != tag]}})
    return Response(status_code=204)
