"""What every identity handler needs: the database, the caller's token, policy, bodies."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.runtime import Runtime
from novalite.services.identity import tokens
from novalite.services.identity.errors import bad_request, forbidden, unauthorized

M = TypeVar("M", bound=BaseModel)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    return runtime_of(request).require_api_db()


def services_base(request: Request) -> str:
    """Base URL of every API in this cloud (the catalog's URLs start with it)."""
    configured = runtime_of(request).settings.service.public_url
    return configured.rstrip("/") if configured else f"{request.url.scheme}://{request.url.netloc}"


def identity_base(request: Request) -> str:
    return services_base(request) + "/identity"


async def caller(session: AsyncSession, request: Request) -> tokens.TokenInfo:
    info = await tokens.validate(session, request.headers.get("x-auth-token"))
    if info is None:
        raise unauthorized()
    return info


def is_admin(info: tokens.TokenInfo) -> bool:
    return any(r.name == "admin" for r in info.roles)


async def require_admin(session: AsyncSession, request: Request, action: str) -> tokens.TokenInfo:
    """Keystone's default policy for managing projects, users and roles: the admin role."""
    info = await caller(session, request)
    if not is_admin(info):
        raise forbidden(f"identity:{action}")
    return info


async def read_body(request: Request, key: str, model: type[M]) -> M:
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_request(f"Expecting to find {key} in the request body.")
    try:
        return model.model_validate(body[key])
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or key}: {e['msg']}" for e in exc.errors())
        raise bad_request(f"Invalid input for {key}: {problems}") from None
