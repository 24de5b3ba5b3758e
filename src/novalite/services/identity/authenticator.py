"""Authenticators for every API of this cloud: our own identity service, or a real Keystone.

Both return the RequestContext the APIs already use; `is_admin` is the `admin` role on the
token's project, as in Nova's default policy. A token that is not scoped to a project is
refused: every API here acts within a project.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.auth import Authenticator, NoAuthAuthenticator, Unauthorized
from novalite.config import Settings
from novalite.context import RequestContext
from novalite.services.identity import tokens

_REFUSED = "The request you have made requires authentication."


def _context(user_id: str, project_id: str, roles: list[str], request_id: str | None) -> RequestContext:
    ctx = RequestContext(user_id=user_id, project_id=project_id, roles=roles, is_admin="admin" in roles)
    if request_id:
        ctx.request_id = request_id
    return ctx


class IdentityAuthenticator:
    """Validates tokens issued by this cloud's identity service, against the API database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def authenticate(self, token: str | None, request_id: str | None = None) -> RequestContext:
        async with self._sessions() as session:
            info = await tokens.validate(session, token)
        if info is None or info.project is None:
            raise Unauthorized(_REFUSED)
        return _context(info.user.id, info.project.id, [r.name for r in info.roles], request_id)


class KeystoneAuthenticator:
    """Validates tokens against an external Keystone (`[keystone] url`).

    The token validates itself (Keystone lets a token look at itself), so novalite needs no
    service account. Answers are cached for `cache_seconds`, never past the token's expiry,
    so a revocation in Keystone takes effect within that time.
    """

    def __init__(self, url: str, cache_seconds: float, client: httpx.AsyncClient | None = None):
        self._url = url.rstrip("/")
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, RequestContext]] = {}
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._lock = asyncio.Lock()

    async def authenticate(self, token: str | None, request_id: str | None = None) -> RequestContext:
        if not token:
            raise Unauthorized(_REFUSED)
        key = tokens.token_hash(token)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            ctx = cached[1].model_copy()
        else:
            ctx, lifetime = await self._validate(token)
            async with self._lock:
                if len(self._cache) > 10_000:  # bound the memory a flood of distinct tokens can take
                    now = time.monotonic()
                    self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                self._cache[key] = (time.monotonic() + min(self._cache_seconds, lifetime), ctx)
        if request_id:
            ctx.request_id = request_id
        return ctx

    async def _validate(self, token: str) -> tuple[RequestContext, float]:
        try:
            response = await self._client.get(f"{self._url}/v3/auth/tokens",
                                              headers={"X-Auth-Token": token, "X-Subject-Token": token})
        except httpx.HTTPError as exc:
            # Not the caller's fault; surfacing 401 would make clients re-authenticate in a loop.
            raise RuntimeError(f"Keystone at {self._url} is unreachable: {exc}") from exc
        if response.status_code in (401, 403, 404):
            raise Unauthorized(_REFUSED)
        response.raise_for_status()
        body = response.json()["token"]
        project = body.get("project")
        if not project:
            raise Unauthorized(_REFUSED)
        expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
        lifetime = max(0.0, (expires - dt.datetime.now(dt.timezone.utc)).total_seconds())
        roles = [r["name"] for r in body.get("roles", [])]
        return _context(body["user"]["id"], project["id"], roles, None), lifetime

    async def close(self) -> None:
        await self._client.aclose()


def authenticator_for(settings: Settings, sessions: async_sessionmaker[AsyncSession] | None) -> Authenticator:
    """The authenticator `[api] auth_strategy` names."""
    strategy = settings.api.auth_strategy
    if strategy == "keystone":
        return KeystoneAuthenticator(settings.keystone.url, settings.keystone.cache_seconds)
    if strategy == "identity":
        if sessions is None:
            raise RuntimeError("auth_strategy 'identity' needs the API database in this process")
        return IdentityAuthenticator(sessions)
    return NoAuthAuthenticator()
