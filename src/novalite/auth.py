"""Turning a request's credentials into a RequestContext.

Until identity is configured, novalite follows Nova's `noauth2` convention:
`X-Auth-Token: user:project`, and the user `admin` is an administrator.
"""

from __future__ import annotations

from typing import Protocol

from novalite.context import RequestContext


class Unauthorized(Exception):
    """No or bad credentials (HTTP 401)."""


def context_from_noauth_token(token: str | None, request_id: str | None = None) -> RequestContext:
    if not token:
        raise Unauthorized("Authentication required: send X-Auth-Token (noauth2: 'user:project').")
    user, _, project = token.partition(":")
    user = user.strip() or "anonymous"
    project = project.strip() or user
    is_admin = user == "admin"
    roles = ["admin", "member", "reader"] if is_admin else ["member", "reader"]
    ctx = RequestContext(user_id=user, project_id=project, roles=roles, is_admin=is_admin)
    if request_id:
        ctx.request_id = request_id
    return ctx


class Authenticator(Protocol):
    """Validates a token; identity (issue: standard clients) provides a Keystone-style one."""

    async def authenticate(self, token: str | None, request_id: str | None = None) -> RequestContext: ...


class NoAuthAuthenticator:
    async def authenticate(self, token: str | None, request_id: str | None = None) -> RequestContext:
        return context_from_noauth_token(token, request_id)
