"""POST /v3/auth/tokens: who is this (password or token), and for which project.

Every failure that could tell an unknown user from a wrong password, a disabled user or a
project without a role is the same 401, so the API is no user-existence oracle.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.db.types import utcnow
from novalite.services.identity import tokens
from novalite.services.identity.db_models import DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME, IdentityProject, IdentityUser
from novalite.services.identity.errors import bad_request, unauthorized
from novalite.services.identity.passwords import verify_password
from novalite.services.identity.schemas import AuthBody, DomainRef, PasswordUser, ProjectScope


def domain_id_of(ref: DomainRef | None) -> str | None:
    """The one domain novalite has, if `ref` names it; None otherwise."""
    if ref is None or (ref.id is None and ref.name is None):
        raise bad_request("Expecting to find domain in the request: give its id or name.")
    if ref.id is not None:
        return DEFAULT_DOMAIN_ID if ref.id == DEFAULT_DOMAIN_ID else None
    return DEFAULT_DOMAIN_ID if ref.name == DEFAULT_DOMAIN_NAME else None


async def _password_user(session: AsyncSession, ref: PasswordUser) -> IdentityUser:
    user = None
    if ref.id is not None:
        user = await session.get(IdentityUser, ref.id)
    elif ref.name is not None:
        domain_id = domain_id_of(ref.domain)
        if domain_id is not None:
            user = await session.scalar(select(IdentityUser).where(
                IdentityUser.name == ref.name, IdentityUser.domain_id == domain_id))
    else:
        raise bad_request("Expecting to find id or name in user.")
    # Always verify, even without a user: the time taken must not reveal whether it exists.
    ok = await verify_password(user.password_hash if user else None, ref.password)
    if user is None or not ok or not user.enabled:
        raise unauthorized()
    return user


async def _scoped_project(session: AsyncSession, ref: ProjectScope) -> IdentityProject:
    if ref.id is not None:
        project = await session.get(IdentityProject, ref.id)
    elif ref.name is not None:
        domain_id = domain_id_of(ref.domain)
        project = None if domain_id is None else await session.scalar(select(IdentityProject).where(
            IdentityProject.name == ref.name, IdentityProject.domain_id == domain_id))
    else:
        raise bad_request("Expecting to find id or name in project.")
    if project is None or not project.enabled:
        raise unauthorized()
    return project


async def authenticate(session: AsyncSession, body: AuthBody, lifetime: dt.timedelta) -> tokens.TokenInfo:
    """Check the credentials in `body` and issue a token (the caller commits)."""
    identity = body.identity
    parent_audit = None
    if "password" in identity.methods:
        if identity.password is None:
            raise bad_request("Expecting to find password in identity.")
        user = await _password_user(session, identity.password.user)
        expires_at = utcnow() + lifetime
        methods = ["password"]
    elif "token" in identity.methods:
        if identity.token is None:
            raise bad_request("Expecting to find token in identity.")
        old = await tokens.validate(session, identity.token.id)
        if old is None:
            raise unauthorized()
        # A token obtained with a token never outlives the original, as in Keystone.
        user, expires_at, methods = old.user, old.expires_at, sorted(set(old.methods) | {"token"})
        parent_audit = old.audit_ids[0]
    else:
        raise unauthorized()

    scope = body.scope
    project = None
    if isinstance(scope, str):
        if scope != "unscoped":
            raise bad_request(f"Invalid scope {scope!r}: give a project or 'unscoped'.")
    elif scope is not None and (scope.domain is not None or scope.system is not None):
        raise unauthorized()  # only project scope exists here
    elif scope is not None and scope.project is not None:
        project = await _scoped_project(session, scope.project)
    elif scope is None and user.default_project_id:
        candidate = await session.get(IdentityProject, user.default_project_id)
        if candidate is not None and candidate.enabled and await tokens.roles_on_project(
                session, user.id, candidate.id):
            project = candidate
    roles = []
    if project is not None:
        roles = await tokens.roles_on_project(session, user.id, project.id)
        if not roles:
            raise unauthorized()
    return await tokens.issue(session, user, project, roles, methods, expires_at, parent_audit)
