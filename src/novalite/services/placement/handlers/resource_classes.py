"""/resource_classes (1.2+)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from novalite.services.placement.errors import PlacementHTTPError
from novalite.services.placement.handlers.common import (
    admin_context, db, href, json_response, no_content, read_body, require_version, wants,
)
from novalite.services.placement.objects import resource_classes
from novalite.services.placement.objects.exceptions import NotFound
from novalite.services.placement.schemas.provider import ResourceClassCreate

router = APIRouter()


def _body(request: Request, name: str) -> dict[str, object]:
    return {"name": name, "links": [{"rel": "self", "href": href(request, f"/resource_classes/{name}")}]}


@router.get("/resource_classes")
async def list_resource_classes(request: Request) -> Response:
    await admin_context(request, "resource_classes:list")
    require_version(request, 1, 2)
    async with db(request).begin() as s:
        names = await resource_classes.list_names(s)
    return json_response({"resource_classes": [_body(request, n) for n in names]})


@router.post("/resource_classes")
async def create_resource_class(request: Request) -> Response:
    await admin_context(request, "resource_classes:create")
    require_version(request, 1, 2)
    body = await read_body(request, ResourceClassCreate)
    async with db(request).begin() as s:
        await resource_classes.create(s, body.name)
    return Response(status_code=201, headers={"location": href(request, f"/resource_classes/{body.name}")})


@router.get("/resource_classes/{name}")
async def get_resource_class(request: Request, name: str) -> Response:
    await admin_context(request, "resource_classes:show")
    require_version(request, 1, 2)
    async with db(request).begin() as s:
        if not await resource_classes.exists(s, name):
            raise NotFound(f"No such resource class {name}")
    return json_response(_body(request, name))


@router.put("/resource_classes/{name}")
async def put_resource_class(request: Request, name: str) -> Response:
    await admin_context(request, "resource_classes:update")
    require_version(request, 1, 2)
    if wants(request, 1, 7):
        # 1.7+: bodiless create-if-missing
        if not resource_classes.is_custom(name) or not name[7:] or not all(
                c.isupper() or c.isdigit() or c == "_" for c in name[7:]):
            raise PlacementHTTPError(400, f"JSON does not validate: '{name}' does not match "
                                     "'^CUSTOM_[A-Z0-9_]+$'")
        async with db(request).begin() as s:
            created = await resource_classes.ensure(s, name)
        return Response(status_code=201 if created else 204,
                        headers={"location": href(request, f"/resource_classes/{name}")})
    body = await read_body(request, ResourceClassCreate)
    async with db(request).begin() as s:
        await resource_classes.rename(s, name, body.name)
    return json_response(_body(request, body.name))


@router.delete("/resource_classes/{name}")
async def delete_resource_class(request: Request, name: str) -> Response:
    await admin_context(request, "resource_classes:delete")
    require_version(request, 1, 2)
    async with db(request).begin() as s:
        await resource_classes.remove(s, name)
    return no_content()
