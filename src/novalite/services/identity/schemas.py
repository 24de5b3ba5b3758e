"""Request bodies of the identity API, validated at the boundary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    # Keystone tolerates fields it does not know in auth bodies (clients send extras).
    model_config = ConfigDict(extra="ignore")


class DomainRef(_Body):
    id: str | None = None
    name: str | None = None


class PasswordUser(_Body):
    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None
    password: str = Field(max_length=4096)


class PasswordMethod(_Body):
    user: PasswordUser


class TokenMethod(_Body):
    id: str = Field(min_length=1, max_length=1024)


class IdentityPart(_Body):
    methods: list[str] = Field(min_length=1)
    password: PasswordMethod | None = None
    token: TokenMethod | None = None


class ProjectScope(_Body):
    id: str | None = None
    name: str | None = None
    domain: DomainRef | None = None


class Scope(_Body):
    project: ProjectScope | None = None
    domain: DomainRef | None = None
    system: dict[str, Any] | None = None


class AuthBody(_Body):
    identity: IdentityPart
    scope: Scope | str | None = None


class AuthRequest(_Body):
    auth: AuthBody


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectFields(_Strict):
    name: str | None = Field(None, min_length=1, max_length=64)
    domain_id: str | None = None
    description: str | None = None
    enabled: bool | None = None
    is_domain: bool | None = None
    parent_id: str | None = None
    tags: list[str] | None = None
    options: dict[str, Any] | None = None


class UserFields(_Strict):
    name: str | None = Field(None, min_length=1, max_length=255)
    domain_id: str | None = None
    password: str | None = Field(None, max_length=4096)
    enabled: bool | None = None
    default_project_id: str | None = None
    description: str | None = None
    email: str | None = None
    options: dict[str, Any] | None = None


class RoleFields(_Strict):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = None
    domain_id: str | None = None
    options: dict[str, Any] | None = None
