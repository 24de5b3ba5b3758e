"""Flavors: list, detail, show, create and delete (admin), extra specs."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from novalite.context import RequestContext
from novalite.db.api_models import Flavor, FlavorExtraSpec
from novalite.services.api.deps import admin_context_of, context_of, json_body, runtime_of, version_of
from novalite.services.api.errors import bad_request, conflict, describe_validation, not_found
from novalite.services.api.microversion import APIVersion
from novalite.services.api.routes.versions import base_url
from novalite.services.api.schemas.flavors import ExtraSpecsRequest, FlavorCreateRequest
from novalite.services.api.server_list import parse_limit
from novalite.services.api.views.common import links

router = APIRouter()

_SORT_KEYS = {"flavorid", "name", "memory_mb", "vcpus", "root_gb", "swap", "ephemeral_gb", "rxtx_factor",
              "created_at", "id", "description"}
_LIST_PARAMS = {"minRam", "minDisk", "is_public", "sort_key", "sort_dir", "limit", "marker"}


def flavor_view(flavor: Flavor, base: str, version: APIVersion, detail: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name,
                            "links": links(base, "flavors", flavor.flavorid)}
    if version.at_least("2.55"):
        view["description"] = flavor.description
    if not detail:
        return view
    view.update({
        "ram": flavor.memory_mb, "vcpus": flavor.vcpus, "disk": flavor.root_gb,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "swap": flavor.swap if (flavor.swap or version.at_least("2.75")) else "",
        "OS-FLV-DISABLED:disabled": flavor.disabled, "rxtx_factor": flavor.rxtx_factor,
        "os-flavor-access:is_public": flavor.is_public,
    })
    if version.at_least("2.61"):
        view["extra_specs"] = flavor.extra_specs_dict
    return view


async def _get(request: Request, flavor_id: str) -> Flavor:
    async with runtime_of(request).require_api_db()() as session:
        flavor = await session.scalar(select(Flavor).where(Flavor.flavorid == flavor_id))
    if flavor is None:
        raise not_found(f"Flavor {flavor_id} could not be found.")
    return flavor


async def _list(request: Request, ctx: RequestContext, detail: bool) -> dict[str, Any]:
    version, params = version_of(request), request.query_params
    if version.at_least("2.75"):
        unknown = set(params) - _LIST_PARAMS
        if unknown:
            raise bad_request(f"Invalid input for query parameters {sorted(unknown)[0]}. Additional properties are not allowed")
    stmt = select(Flavor).where(Flavor.disabled.is_(False))
    for name, column in (("minRam", Flavor.memory_mb), ("minDisk", Flavor.root_gb)):
        if name in params:
            try:
                # Flavor sizes are 32-bit columns: a bigger minimum simply matches nothing.
                stmt = stmt.where(column >= max(min(int(params[name]), 2**31 - 1), -(2**31)))
            except ValueError:
                raise bad_request(f"Invalid {name} filter [{params[name]}]") from None
    is_public = params.get("is_public", "true").lower()
    if not ctx.is_admin or is_public in ("true", "1", "yes"):
        stmt = stmt.where(Flavor.is_public.is_(True))
    elif is_public in ("false", "0", "no"):
        stmt = stmt.where(Flavor.is_public.is_(False))
    sort_key, sort_dir = params.get("sort_key", "flavorid"), params.get("sort_dir", "asc")
    if sort_key not in _SORT_KEYS or sort_dir not in ("asc", "desc"):
        raise bad_request(f"Invalid sort_key '{sort_key}' or sort_dir '{sort_dir}'")
    column = getattr(Flavor, sort_key)
    stmt = stmt.order_by(column.asc() if sort_dir == "asc" else column.desc(), Flavor.id)
    limit = parse_limit(params.get("limit"), runtime_of(request).settings.api.max_limit)
    async with runtime_of(request).require_api_db()() as session:
        rows = list((await session.scalars(stmt)).all())
    if "marker" in params:
        ids = [f.flavorid for f in rows]
        if params["marker"] not in ids:
            raise bad_request(f"marker [{params['marker']}] not found")
        rows = rows[ids.index(params["marker"]) + 1:]
    rows = rows[:limit]
    base = base_url(request)
    return {"flavors": [flavor_view(f, base, version, detail) for f in rows]}


@router.get("/flavors")
async def list_flavors(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    return await _list(request, ctx, detail=False)


@router.get("/flavors/detail")
async def list_flavors_detail(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    return await _list(request, ctx, detail=True)


@router.get("/flavors/{flavor_id}")
async def show_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    flavor = await _get(request, flavor_id)
    return {"flavor": flavor_view(flavor, base_url(request), version_of(request))}


@router.post("/flavors")
async def create_flavor(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    body = await json_body(request)
    version = version_of(request)
    if isinstance(body.get("flavor"), dict) and "description" in body["flavor"] and not version.at_least("2.55"):
        raise bad_request("Additional properties are not allowed ('description' was unexpected); needs 2.55")
    try:
        data = FlavorCreateRequest.model_validate(body).flavor
    except ValidationError as exc:
        raise bad_request(describe_validation(exc)) from None
    if not data.name.strip():
        raise bad_request("Flavor name must not be blank.")
    flavor = Flavor(
        flavorid=data.id or str(uuidlib.uuid4()), name=data.name.strip(), memory_mb=data.ram,
        vcpus=data.vcpus, root_gb=data.disk, ephemeral_gb=data.ephemeral, swap=data.swap,
        rxtx_factor=data.rxtx_factor, is_public=data.is_public, description=data.description,
    )
    try:
        async with runtime_of(request).require_api_db()() as session, session.begin():
            session.add(flavor)
    except IntegrityError:
        raise conflict(f"Flavor with name {data.name} or id {data.id} already exists.") from None
    flavor = await _get(request, flavor.flavorid)
    return {"flavor": flavor_view(flavor, base_url(request), version)}


@router.delete("/flavors/{flavor_id}", status_code=202)
async def delete_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(admin_context_of)) -> Response:
    async with runtime_of(request).require_api_db()() as session, session.begin():
        flavor = await session.scalar(select(Flavor).where(Flavor.flavorid == flavor_id))
        if flavor is None:
            raise not_found(f"Flavor {flavor_id} could not be found.")
        await session.delete(flavor)
    return Response(status_code=202)


@router.get("/flavors/{flavor_id}/os-extra_specs")
async def list_extra_specs(flavor_id: str, request: Request,
                           ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    return {"extra_specs": (await _get(request, flavor_id)).extra_specs_dict}


@router.post("/flavors/{flavor_id}/os-extra_specs")
async def create_extra_specs(flavor_id: str, request: Request,
                             ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    try:
        specs = ExtraSpecsRequest.model_validate(await json_body(request)).extra_specs
    except ValidationError as exc:
        raise bad_request(describe_validation(exc)) from None
    await _set_specs(request, flavor_id, specs)
    return {"extra_specs": specs}


async def _set_specs(request: Request, flavor_id: str, specs: dict[str, str]) -> None:
    async with runtime_of(request).require_api_db()() as session, session.begin():
        flavor = await session.scalar(select(Flavor).where(Flavor.flavorid == flavor_id))
        if flavor is None:
            raise not_found(f"Flavor {flavor_id} could not be found.")
        existing = {spec.key: spec for spec in flavor.extra_specs}
        for key, value in specs.items():
            if key in existing:
                existing[key].value = value
            else:
                flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))


@router.get("/flavors/{flavor_id}/os-extra_specs/{key}")
async def show_extra_spec(flavor_id: str, key: str, request: Request,
                          ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    specs = (await _get(request, flavor_id)).extra_specs_dict
    if key not in specs:
        raise not_found(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return {key: specs[key]}


@router.put("/flavors/{flavor_id}/os-extra_specs/{key}")
async def update_extra_spec(flavor_id: str, key: str, request: Request,
                            ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    body = await json_body(request)
    if list(body) != [key]:
        raise bad_request(f"The request body must contain exactly the key '{key}' from the URL.")
    try:
        specs = ExtraSpecsRequest.model_validate({"extra_specs": body}).extra_specs
    except ValidationError as exc:
        raise bad_request(describe_validation(exc)) from None
    await _set_specs(request, flavor_id, specs)
    return specs


@router.delete("/flavors/{flavor_id}/os-extra_specs/{key}")
async def delete_extra_spec(flavor_id: str, key: str, request: Request,
                            ctx: RequestContext = Depends(admin_context_of)) -> Response:
    async with runtime_of(request).require_api_db()() as session, session.begin():
        flavor = await session.scalar(select(Flavor).where(Flavor.flavorid == flavor_id))
        if flavor is None:
            raise not_found(f"Flavor {flavor_id} could not be found.")
        spec = next((s for s in flavor.extra_specs if s.key == key), None)
        if spec is None:
            raise not_found(f"Flavor {flavor_id} has no extra specs with key {key}.")
        flavor.extra_specs.remove(spec)
    return Response(status_code=200)
