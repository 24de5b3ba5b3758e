"""JSON shapes of identity resources, as Keystone renders them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from novalite.services.identity.catalog import catalog
from novalite.services.identity.db_models import (
    DEFAULT_DOMAIN_ID,
    DEFAULT_DOMAIN_NAME,
    IdentityProject,
    IdentityRole,
    IdentityUser,
)
from novalite.services.identity.tokens import TokenInfo

DOMAIN_REF = {"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME}


def iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def domain(base: str) -> dict[str, Any]:
    return {**DOMAIN_REF, "description": "The default domain", "enabled": True, "tags": [],
            "options": {}, "links": {"self": f"{base}/v3/domains/{DEFAULT_DOMAIN_ID}"}}


def project(p: IdentityProject, base: str) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
            "enabled": p.enabled, "is_domain": False, "parent_id": p.domain_id, "tags": [], "options": {},
            "links": {"self": f"{base}/v3/projects/{p.id}"}}


def user(u: IdentityUser, base: str) -> dict[str, Any]:
    body: dict[str, Any] = {"id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
                            "description": u.description, "password_expires_at": None, "options": {},
                            "links": {"self": f"{base}/v3/users/{u.id}"}}
    if u.default_project_id:
        body["default_project_id"] = u.default_project_id
    if u.email:
        body["email"] = u.email
    return body


def role(r: IdentityRole, base: str) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "description": r.description, "domain_id": None, "options": {},
            "links": {"self": f"{base}/v3/roles/{r.id}"}}


def token(info: TokenInfo, base: str, services_base: str, region: str, with_catalog: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "methods": info.methods,
        "user": {"id": info.user.id, "name": info.user.name, "domain": DOMAIN_REF, "password_expires_at": None},
        "audit_ids": info.audit_ids,
        "issued_at": iso(info.issued_at),
        "expires_at": iso(info.expires_at),
    }
    if info.project is not None:
        body["project"] = {"id": info.project.id, "name": info.project.name, "domain": DOMAIN_REF}
        body["is_domain"] = False
        body["roles"] = [{"id": r.id, "name": r.name} for r in info.roles]
        if with_catalog:
            body["catalog"] = catalog(services_base, region)
    elif with_catalog:
        body["catalog"] = []  # Keystone gives unscoped tokens an empty catalog
    return {"token": body}
