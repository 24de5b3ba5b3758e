"""Identity tables in the API database: projects, users, roles, assignments, tokens.

There is one domain, `default` (Keystone's default), so it is a constant, not a table.
Tokens are stored by the SHA-256 of their value: a leaked database does not leak tokens.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from novalite.db.api_models import ApiBase
from novalite.db.types import utcnow

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"


class IdentityProject(ApiBase):
    __tablename__ = "identity_projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_DOMAIN_ID)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IdentityUser(ApiBase):
    __tablename__ = "identity_users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_DOMAIN_ID)
    password_hash: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IdentityRole(ApiBase):
    __tablename__ = "identity_roles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class IdentityRoleAssignment(ApiBase):
    __tablename__ = "identity_role_assignments"

    user_id: Mapped[str] = mapped_column(ForeignKey("identity_users.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("identity_projects.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("identity_roles.id", ondelete="CASCADE"), primary_key=True)


class IdentityToken(ApiBase):
    __tablename__ = "identity_tokens"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("identity_users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("identity_projects.id", ondelete="CASCADE"))
    methods: Mapped[list[Any]] = mapped_column(JSON)
    audit_ids: Mapped[list[Any]] = mapped_column(JSON)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
