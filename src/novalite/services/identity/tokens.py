"""Issuing, validating and revoking tokens.

A token is 32 random bytes; only its SHA-256 is stored. Roles are read at validation time,
so removing a role or disabling a user or project takes effect on the next request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.db.types import utcnow
from novalite.services.identity.db_models import (
    IdentityProject,
    IdentityRole,
    IdentityRoleAssignment,
    IdentityToken,
    IdentityUser,
)


@dataclass
class TokenInfo:
    user: IdentityUser
    project: IdentityProject | None
    roles: list[IdentityRole]
    methods: list[str]
    audit_ids: list[str]
    issued_at: dt.datetime
    expires_at: dt.datetime
    value: str | None = field(default=None, repr=False)


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_audit_id() -> str:
    return secrets.token_urlsafe(16)[:22]


async def roles_on_project(session: AsyncSession, user_id: str, project_id: str) -> list[IdentityRole]:
    query = (select(IdentityRole).join(IdentityRoleAssignment, IdentityRoleAssignment.role_id == IdentityRole.id)
             .where(IdentityRoleAssignment.user_id == user_id, IdentityRoleAssignment.project_id == project_id)
             .order_by(IdentityRole.name))
    return list((await session.scalars(query)).all())


async def issue(session: AsyncSession, user: IdentityUser, project: IdentityProject | None,
                roles: list[IdentityRole], methods: list[str], expires_at: dt.datetime,
                parent_audit_id: str | None = None) -> TokenInfo:
    """Store a new token (the caller commits) and return it with its value, shown once."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    audit_ids = [new_audit_id()] + ([parent_audit_id] if parent_audit_id else [])
    # Expired rows are useless; dropping them here keeps the table small without a timer.
    await session.execute(delete(IdentityToken).where(IdentityToken.expires_at < now))
    session.add(IdentityToken(id_hash=token_hash(value), user_id=user.id,
                              project_id=project.id if project else None, methods=methods,
                              audit_ids=audit_ids, issued_at=now, expires_at=expires_at))
    return TokenInfo(user=user, project=project, roles=roles, methods=methods, audit_ids=audit_ids,
                     issued_at=now, expires_at=expires_at, value=value)


async def validate(session: AsyncSession, value: str | None) -> TokenInfo | None:
    """The token's current meaning, or None when it is unknown, expired, revoked or void."""
    if not value:
        return None
    row = await session.get(IdentityToken, token_hash(value))
    if row is None or row.expires_at <= utcnow():
        return None
    user = await session.get(IdentityUser, row.user_id)
    if user is None or not user.enabled:
        return None
    project = None
    roles: list[IdentityRole] = []
    if row.project_id is not None:
        project = await session.get(IdentityProject, row.project_id)
        if project is None or not project.enabled:
            return None
        roles = await roles_on_project(session, user.id, project.id)
        if not roles:  # every role on the project was taken away since the token was issued
            return None
    return TokenInfo(user=user, project=project, roles=roles, methods=list(row.methods),
                     audit_ids=list(row.audit_ids), issued_at=row.issued_at, expires_at=row.expires_at,
                     value=value)


async def revoke(session: AsyncSession, value: str) -> bool:
    result = await session.execute(delete(IdentityToken).where(IdentityToken.id_hash == token_hash(value)))
    return bool(result.rowcount)


async def revoke_user(session: AsyncSession, user_id: str) -> None:
    """Forget every token of a user (password changed, user disabled)."""
    await session.execute(delete(IdentityToken).where(IdentityToken.user_id == user_id))
