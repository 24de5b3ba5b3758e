"""os-keypairs: create (generated or imported), list, show, delete; boots inject them."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from novalite.context import RequestContext
from novalite.db.api_models import KeyPair
from novalite.services.api import keypair_ops
from novalite.services.api.deps import context_of, json_body, runtime_of, version_of
from novalite.services.api.errors import bad_request, conflict, forbidden, not_found
from novalite.services.api.views.common import isotime

router = APIRouter()

_NAME_OLD = re.compile(r"^[a-zA-Z0-9 _-]{1,255}$")
_NAME_NEW = re.compile(r"^[a-zA-Z0-9 _\-@.]{1,255}$")  # 2.92 widened the allowed characters


def _owner(request: Request, ctx: RequestContext) -> str:
    wanted = request.query_params.get("user_id")
    if wanted and wanted != ctx.user_id:
        if not ctx.is_admin or not version_of(request).at_least("2.10"):
            raise forbidden()
        return wanted
    return ctx.user_id or ""


def _view(key: KeyPair, request: Request, full: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"name": key.name, "public_key": key.public_key, "fingerprint": key.fingerprint}
    if version_of(request).at_least("2.2"):
        view["type"] = key.type
    if full:
        view.update({"user_id": key.user_id, "created_at": isotime(key.created_at), "deleted": False,
                     "deleted_at": None, "updated_at": None, "id": key.id})
    return view


@router.post("/os-keypairs")
async def create_keypair(request: Request, ctx: RequestContext = Depends(context_of)) -> Any:
    version = version_of(request)
    body = await json_body(request)
    data = body.get("keypair")
    if not isinstance(data, dict) or set(body) != {"keypair"}:
        raise bad_request("The body must be {\"keypair\": {\"name\": ..., \"public_key\": ...}}")
    allowed = {"name", "public_key"} | ({"type"} if version.at_least("2.2") else set()) | (
        {"user_id"} if version.at_least("2.10") else set())
    unknown = set(data) - allowed
    if unknown:
        raise bad_request(f"Additional properties are not allowed ({sorted(unknown)[0]!r} was unexpected)")
    name = data.get("name")
    pattern = _NAME_NEW if version.at_least("2.92") else _NAME_OLD
    if not isinstance(name, str) or not pattern.match(name) or not name.strip():
        raise bad_request("Keypair name must be 1-255 characters of letters, digits, spaces, '_' and '-'"
                          + (", '@' and '.'" if version.at_least("2.92") else ""))
    key_type = data.get("type", "ssh")
    if key_type not in ("ssh", "x509"):
        raise bad_request(f"Keypair type must be 'ssh' or 'x509', got {key_type!r}")
    user_id = ctx.user_id or ""
    if data.get("user_id") and data["user_id"] != user_id:
        if not ctx.is_admin:
            raise forbidden()
        user_id = data["user_id"]
    public_key = data.get("public_key")
    private_key = None
    if public_key is None:
        if version.at_least("2.92"):
            raise bad_request("'public_key' is a required property (since 2.92 novalite no longer generates keys)")
        public_key, private_key = keypair_ops.generate("Generated-by-novalite")
    elif not isinstance(public_key, str):
        raise bad_request("public_key must be a string")
    key = KeyPair(name=name, user_id=user_id, public_key=public_key.strip(), type=key_type,
                  fingerprint=keypair_ops.fingerprint(public_key))
    try:
        async with runtime_of(request).require_api_db()() as session, session.begin():
            session.add(key)
    except IntegrityError:
        raise conflict(f"Key pair '{name}' already exists.") from None
    view = _view(key, request, full=False)
    view["user_id"] = user_id
    if private_key:
        view["private_key"] = private_key
    status = 201 if version.at_least("2.2") else 200
    return JSONResponse({"keypair": view}, status_code=status)


@router.get("/os-keypairs")
async def list_keypairs(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    owner = _owner(request, ctx)
    async with runtime_of(request).require_api_db()() as session:
        rows = (await session.scalars(select(KeyPair).where(KeyPair.user_id == owner).order_by(KeyPair.name))).all()
    return {"keypairs": [{"keypair": _view(k, request, full=False)} for k in rows]}


async def _get(request: Request, owner: str, name: str) -> KeyPair:
    async with runtime_of(request).require_api_db()() as session:
        key = await session.scalar(select(KeyPair).where(KeyPair.user_id == owner, KeyPair.name == name))
    if key is None:
        raise not_found(f"Keypair {name} not found for user {owner}")
    return key


@router.get("/os-keypairs/{name}")
async def show_keypair(name: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    return {"keypair": _view(await _get(request, _owner(request, ctx), name), request, full=True)}


@router.delete("/os-keypairs/{name}")
async def delete_keypair(name: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    key = await _get(request, _owner(request, ctx), name)
    async with runtime_of(request).require_api_db()() as session, session.begin():
        await session.delete(await session.get(KeyPair, key.id))
    return Response(status_code=204 if version_of(request).at_least("2.2") else 202)

