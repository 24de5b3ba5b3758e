"""Tokens one novalite service sends to another's HTTP API (today: placement).

Under noauth2 a fixed `user:project` token does. With identity (ours or Keystone) a
process authenticates as its configured service user, as Nova does through
keystoneauth: the token is fetched once, reused until shortly before it expires, and
fetched again early when the called API answers 401 (revoked, or the identity
service's tokens were reset).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any, Protocol

import httpx

from novalite.config import PlacementOptions, Settings

NOAUTH_SERVICE_TOKEN = "admin:service"
# Renew this long before expiry (at most half the lifetime): a request must not leave with
# a token that expires on its way.
RENEW_MARGIN = 300.0


class ServiceAuthError(Exception):
    """The service user could not get a token; the message says why and what to check."""


class ServiceAuth(Protocol):
    async def token(self) -> str: ...

    def invalidate(self, token: str) -> None:
        """The called API refused `token`: the next token() fetches a new one."""

    async def close(self) -> None: ...


class StaticToken:
    """noauth2: the same token always (the APIs read the user and project out of it)."""

    def __init__(self, token: str = NOAUTH_SERVICE_TOKEN):
        self._token = token

    async def token(self) -> str:
        return self._token

    def invalidate(self, token: str) -> None:
        pass

    async def close(self) -> None:
        pass


def identity_v3_url(auth_url: str) -> str:
    """Accept an auth URL with or without its /v3, as keystoneauth users write both."""
    base = auth_url.rstrip("/")
    return base if base.endswith("/v3") else base + "/v3"


class PasswordServiceAuth:
    """A service user's project-scoped token from an Identity v3 API, cached and renewed."""

    def __init__(self, options: PlacementOptions, http: httpx.AsyncClient | None = None,
                 renew_margin: float = RENEW_MARGIN):
        self._options = options
        self._url = identity_v3_url(options.auth_url) + "/auth/tokens"
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=30.0)
        self._renew_margin = renew_margin
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:  # many requests at once fetch one token, not one each
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token, lifetime = await self._fetch()
                self._renew_at = time.monotonic() + lifetime - min(self._renew_margin, lifetime / 2)
            return self._token

    def invalidate(self, token: str) -> None:
        if token == self._token:  # not a token another request has already replaced
            self._token = None

    async def close(self) -> None:
        if self._own_http:
            await self._http.aclose()

    def _body(self) -> dict[str, Any]:
        o = self._options
        return {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": o.username, "password": o.password, "domain": {"name": o.user_domain_name}}}},
            "scope": {"project": {"name": o.project_name, "domain": {"name": o.project_domain_name}}},
        }}

    async def _fetch(self) -> tuple[str, float]:
        who = f"service user '{self._options.username}' (project '{self._options.project_name}')"
        try:
            response = await self._http.post(self._url, json=self._body())
        except httpx.HTTPError as exc:
            raise ServiceAuthError(f"cannot reach the identity API at {self._url} to authenticate {who}: "
                                   f"{exc!r}; check [placement] auth_url") from exc
        if response.status_code == 401:
            raise ServiceAuthError(f"the identity API at {self._url} refused {who}: wrong password, or no such "
                                   "user or project; check [placement] username, password and project_name")
        if response.status_code != 201 or "x-subject-token" not in response.headers:
            raise ServiceAuthError(f"the identity API at {self._url} answered {response.status_code} when "
                                   f"authenticating {who}: {response.text[:300]}")
        expires_at = response.json()["token"]["expires_at"]
        expires = dt.datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
        lifetime = max(0.0, (expires - dt.datetime.now(dt.timezone.utc)).total_seconds())
        return response.headers["x-subject-token"], lifetime


def placement_service_auth(settings: Settings) -> ServiceAuth:
    """How this process authenticates to placement over HTTP (validated by Settings)."""
    if settings.api.auth_strategy == "noauth2" and not settings.placement.username:
        return StaticToken()
    return PasswordServiceAuth(settings.placement)
