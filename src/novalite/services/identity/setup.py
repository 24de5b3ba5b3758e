"""First start of a cloud that is its own identity service: roles, the admin, clouds.yaml."""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.config import Settings
from novalite.services.identity.db_models import (
    DEFAULT_DOMAIN_NAME,
    IdentityProject,
    IdentityRole,
    IdentityRoleAssignment,
    IdentityUser,
)
from novalite.services.identity.passwords import hash_password, verify_password

DEFAULT_ROLES = ("admin", "member", "reader")  # Nova's default personas
ADMIN_NAME = "admin"


@dataclass
class AdminBootstrap:
    password: str | None  # set only when generated now: the one time it can be shown
    created: bool


async def ensure_admin(sessions: async_sessionmaker[AsyncSession], configured_password: str) -> AdminBootstrap:
    """Create the default roles, the admin project and user (idempotent, safe on every start)."""
    async with sessions() as session, session.begin():
        roles = {}
        for name in DEFAULT_ROLES:
            role = await session.scalar(select(IdentityRole).where(IdentityRole.name == name))
            if role is None:
                role = IdentityRole(id=uuid.uuid4().hex, name=name)
                session.add(role)
            roles[name] = role
        project = await session.scalar(select(IdentityProject).where(IdentityProject.name == ADMIN_NAME))
        if project is None:
            project = IdentityProject(id=uuid.uuid4().hex, name=ADMIN_NAME, description="Bootstrap project")
            session.add(project)
        user = await session.scalar(select(IdentityUser).where(IdentityUser.name == ADMIN_NAME))
        generated = None
        created = user is None
        if user is None:
            password = configured_password or (generated := secrets.token_urlsafe(18))
            user = IdentityUser(id=uuid.uuid4().hex, name=ADMIN_NAME, password_hash=await hash_password(password),
                                default_project_id=project.id)
            session.add(user)
        elif configured_password and not await verify_password(user.password_hash, configured_password):
            # The configured password is the source of truth once an operator sets one.
            user.password_hash = await hash_password(configured_password)
        await session.flush()
        for role in roles.values():
            if await session.get(IdentityRoleAssignment, (user.id, project.id, role.id)) is None:
                session.add(IdentityRoleAssignment(user_id=user.id, project_id=project.id, role_id=role.id))
    return AdminBootstrap(password=generated, created=created)


def client_base_url(settings: Settings) -> str:
    """The URL a client on this machine reaches: a wildcard bind address is not one."""
    if settings.service.public_url:
        return settings.service.public_url.rstrip("/")
    host = settings.service.bind_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{settings.service.port}"


def password_cloud(settings: Settings, password: str) -> dict[str, object]:
    return {
        "auth": {"auth_url": client_base_url(settings) + "/identity", "username": ADMIN_NAME, "password": password,
                 "project_name": ADMIN_NAME, "user_domain_name": DEFAULT_DOMAIN_NAME,
                 "project_domain_name": DEFAULT_DOMAIN_NAME},
        "region_name": settings.service.region,
        "identity_api_version": 3,
        "interface": "public",
    }


def noauth_cloud(settings: Settings, token: str = "admin:admin") -> dict[str, object]:
    """A cloud without identity (noauth2): every service's endpoint is given to the client.

    osc-placement asks the auth plugin for its endpoint, so `auth.endpoint` is placement's;
    the others take `<service>_endpoint_override`; identity's points at the static v3
    document that `flavor create` reads.
    """
    base = client_base_url(settings)
    return {
        "auth_type": "admin_token",
        "auth": {"endpoint": base + "/placement", "token": token},
        "compute_endpoint_override": base + "/compute/v2.1",
        "image_endpoint_override": base + "/image",
        "placement_endpoint_override": base + "/placement",
        "identity_endpoint_override": base + "/identity/v3/",
        "region_name": settings.service.region,
    }


def render_clouds_yaml(clouds: dict[str, dict[str, object]]) -> str:
    # JSON is a subset of YAML: no YAML library is needed to write a correct file.
    return "# Written by novalite. Use: export OS_CLIENT_CONFIG_FILE=<this file> OS_CLOUD=novalite\n" + \
        json.dumps({"clouds": clouds}, indent=2) + "\n"


def write_clouds_yaml(path: Path, clouds: dict[str, dict[str, object]]) -> None:
    """Write atomically and readable by the owner only: it may hold a password."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(render_clouds_yaml(clouds))
    os.replace(tmp, path)


def _password_in(path: Path) -> str | None:
    """The admin password a previous start wrote into clouds.yaml (it cannot be recovered otherwise)."""
    try:
        text = path.read_text()
        body = json.loads(text[text.index("{"):])
        return body["clouds"]["novalite"]["auth"]["password"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


async def prepare_all_in_one(settings: Settings, sessions: async_sessionmaker[AsyncSession] | None,
                             log: Callable[[str], None]) -> Path | None:
    """Bootstrap the admin (identity) and write `<data_dir>/clouds.yaml` for the `openstack` client."""
    path = settings.service.data_dir / "clouds.yaml"
    strategy = settings.api.auth_strategy
    if strategy == "keystone":
        return None  # the credentials belong to that Keystone; we have none to write
    if strategy == "noauth2":
        write_clouds_yaml(path, {"novalite": noauth_cloud(settings)})
        log(f"noauth2: wrote clouds.yaml (auth_type admin_token) to {path}")
        return path
    assert sessions is not None
    boot = await ensure_admin(sessions, settings.identity.admin_password)
    password = settings.identity.admin_password or boot.password or _password_in(path)
    if boot.password:
        log(f"created user 'admin' in project 'admin' with generated password {boot.password} "
            f"(shown once; it is also in {path})")
    if password is None:
        log(f"admin password unknown (generated on an earlier start and {path} is gone): "
            "set [identity] admin_password to reset it")
        return None
    write_clouds_yaml(path, {"novalite": password_cloud(settings, password)})
    log(f"wrote clouds.yaml to {path}: export OS_CLIENT_CONFIG_FILE={path} OS_CLOUD=novalite")
    return path
