"""Projects, users, roles and role assignments: Keystone's admin API, for the admin role.

Only the default domain exists; a request naming another domain is a 400 that says so.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.services.identity import tokens, views
from novalite.services.identity.common import caller, identity_base, is_admin, read_body, require_admin, sessions
from novalite.services.identity.db_models import (
    DEFAULT_DOMAIN_ID,
    IdentityProject,
    IdentityRole,
    IdentityRoleAssignment,
    IdentityToken,
    IdentityUser,
)
from novalite.services.identity.errors import bad_request, conflict, forbidden, not_found
from novalite.services.identity.passwords import hash_password
from novalite.services.identity.schemas import ProjectFields, RoleFields, UserFields


def _only_default_domain(domain_id: str | None) -> None:
    if domain_id not in (None, DEFAULT_DOMAIN_ID):
        raise bad_request(f"Domain {domain_id} does not exist: novalite has only the '{DEFAULT_DOMAIN_ID}' domain.")


def _truthy(value: str | None) -> bool | None:
    return None if value is None else value.lower() not in ("false", "0", "no")


async def _get(session: AsyncSession, model: Any, ident: str, kind: str) -> Any:
    row = await session.get(model, ident)
    if row is None:
        raise not_found(kind, ident)
    return row


async def _commit(session: AsyncSession, what: str) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise conflict(f"{what}: the name is already taken") from None


def _install_projects(app: FastAPI) -> None:
    @app.get("/v3/projects")
    async def list_projects(request: Request) -> dict[str, Any]:
        q = request.query_params
        async with sessions(request)() as session:
            await require_admin(session, request, "list_projects")
            query = select(IdentityProject).order_by(IdentityProject.name)
            if "name" in q:
                query = query.where(IdentityProject.name == q["name"])
            if "domain_id" in q:
                query = query.where(IdentityProject.domain_id == q["domain_id"])
            if (enabled := _truthy(q.get("enabled"))) is not None:
                query = query.where(IdentityProject.enabled == enabled)
            rows = (await session.scalars(query)).all()
        base = identity_base(request)
        return {"projects": [views.project(p, base) for p in rows], "links": {"self": f"{base}/v3/projects"}}

    @app.post("/v3/projects", status_code=201)
    async def create_project(request: Request) -> dict[str, Any]:
        fields = await read_body(request, "project", ProjectFields)
        if not fields.name:
            raise bad_request("Invalid input for project: 'name' is a required property.")
        _only_default_domain(fields.domain_id)
        async with sessions(request)() as session:
            await require_admin(session, request, "create_project")
            project = IdentityProject(id=uuid.uuid4().hex, name=fields.name, domain_id=DEFAULT_DOMAIN_ID,
                                      description=fields.description or "",
                                      enabled=True if fields.enabled is None else fields.enabled)
            session.add(project)
            await _commit(session, f"project {fields.name}")
            return {"project": views.project(project, identity_base(request))}

    @app.get("/v3/projects/{project_id}")
    async def show_project(request: Request, project_id: str) -> dict[str, Any]:
        async with sessions(request)() as session:
            me = await caller(session, request)
            # A user may read the project its token is scoped to (clients show it).
            if not is_admin(me) and (me.project is None or me.project.id != project_id):
                raise forbidden("identity:get_project")
            project = await _get(session, IdentityProject, project_id, "project")
            return {"project": views.project(project, identity_base(request))}

    @app.patch("/v3/projects/{project_id}")
    async def update_project(request: Request, project_id: str) -> dict[str, Any]:
        fields = await read_body(request, "project", ProjectFields)
        _only_default_domain(fields.domain_id)
        async with sessions(request)() as session:
            await require_admin(session, request, "update_project")
            project = await _get(session, IdentityProject, project_id, "project")
            for name in ("name", "description", "enabled"):
                if (value := getattr(fields, name)) is not None:
                    setattr(project, name, value)
            await _commit(session, f"project {project.name}")
            return {"project": views.project(project, identity_base(request))}

    @app.delete("/v3/projects/{project_id}", status_code=204)
    async def delete_project(request: Request, project_id: str) -> Response:
        async with sessions(request)() as session, session.begin():
            await require_admin(session, request, "delete_project")
            project = await _get(session, IdentityProject, project_id, "project")
            # Explicit: SQLite does not enforce ON DELETE CASCADE unless asked to.
            await session.execute(delete(IdentityRoleAssignment).where(IdentityRoleAssignment.project_id == project_id))
            await session.execute(delete(IdentityToken).where(IdentityToken.project_id == project_id))
            await session.delete(project)
        return Response(status_code=204)


def _install_users(app: FastAPI) -> None:
    @app.get("/v3/users")
    async def list_users(request: Request) -> dict[str, Any]:
        q = request.query_params
        async with sessions(request)() as session:
            await require_admin(session, request, "list_users")
            query = select(IdentityUser).order_by(IdentityUser.name)
            if "name" in q:
                query = query.where(IdentityUser.name == q["name"])
            if "domain_id" in q:
                query = query.where(IdentityUser.domain_id == q["domain_id"])
            if (enabled := _truthy(q.get("enabled"))) is not None:
                query = query.where(IdentityUser.enabled == enabled)
            rows = (await session.scalars(query)).all()
        base = identity_base(request)
        return {"users": [views.user(u, base) for u in rows], "links": {"self": f"{base}/v3/users"}}

    @app.post("/v3/users", status_code=201)
    async def create_user(request: Request) -> dict[str, Any]:
        fields = await read_body(request, "user", UserFields)
        if not fields.name:
            raise bad_request("Invalid input for user: 'name' is a required property.")
        _only_default_domain(fields.domain_id)
        password_hash = await hash_password(fields.password) if fields.password else None
        async with sessions(request)() as session:
            await require_admin(session, request, "create_user")
            if fields.default_project_id:
                await _get(session, IdentityProject, fields.default_project_id, "project")
            user = IdentityUser(id=uuid.uuid4().hex, name=fields.name, domain_id=DEFAULT_DOMAIN_ID,
                                password_hash=password_hash, enabled=True if fields.enabled is None else fields.enabled,
                                default_project_id=fields.default_project_id, description=fields.description or "",
                                email=fields.email)
            session.add(user)
            await _commit(session, f"user {fields.name}")
            return {"user": views.user(user, identity_base(request))}

    @app.get("/v3/users/{user_id}")
    async def show_user(request: Request, user_id: str) -> dict[str, Any]:
        async with sessions(request)() as session:
            me = await caller(session, request)
            if not is_admin(me) and me.user.id != user_id:
                raise forbidden("identity:get_user")
            user = await _get(session, IdentityUser, user_id, "user")
            return {"user": views.user(user, identity_base(request))}

    @app.patch("/v3/users/{user_id}")
    async def update_user(request: Request, user_id: str) -> dict[str, Any]:
        fields = await read_body(request, "user", UserFields)
        _only_default_domain(fields.domain_id)
        password_hash = await hash_password(fields.password) if fields.password else None
        async with sessions(request)() as session:
            await require_admin(session, request, "update_user")
            user = await _get(session, IdentityUser, user_id, "user")
            if fields.default_project_id:
                await _get(session, IdentityProject, fields.default_project_id, "project")
            for name in ("name", "description", "enabled", "email", "default_project_id"):
                if (value := getattr(fields, name)) is not None:
                    setattr(user, name, value)
            if password_hash is not None:
                user.password_hash = password_hash
            if password_hash is not None or fields.enabled is False:
                await tokens.revoke_user(session, user.id)  # old credentials stop working now
            await _commit(session, f"user {user.name}")
            return {"user": views.user(user, identity_base(request))}

    @app.delete("/v3/users/{user_id}", status_code=204)
    async def delete_user(request: Request, user_id: str) -> Response:
        async with sessions(request)() as session, session.begin():
            await require_admin(session, request, "delete_user")
            user = await _get(session, IdentityUser, user_id, "user")
            await session.execute(delete(IdentityRoleAssignment).where(IdentityRoleAssignment.user_id == user_id))
            await tokens.revoke_user(session, user_id)
            await session.delete(user)
        return Response(status_code=204)

    @app.get("/v3/users/{user_id}/projects")
    async def user_projects(request: Request, user_id: str) -> dict[str, Any]:
        async with sessions(request)() as session:
            me = await caller(session, request)
            if not is_admin(me) and me.user.id != user_id:
                raise forbidden("identity:list_user_projects")
            rows = await _projects_of(session, user_id)
        base = identity_base(request)
        return {"projects": [views.project(p, base) for p in rows], "links": {"self": f"{base}/v3/users/{user_id}/projects"}}

    @app.get("/v3/auth/projects")
    async def auth_projects(request: Request) -> dict[str, Any]:
        async with sessions(request)() as session:
            me = await caller(session, request)
            rows = await _projects_of(session, me.user.id)
        base = identity_base(request)
        return {"projects": [views.project(p, base) for p in rows], "links": {"self": f"{base}/v3/auth/projects"}}


async def _projects_of(session: AsyncSession, user_id: str) -> list[IdentityProject]:
    query = (select(IdentityProject).join(IdentityRoleAssignment, IdentityRoleAssignment.project_id == IdentityProject.id)
             .where(IdentityRoleAssignment.user_id == user_id).distinct().order_by(IdentityProject.name))
    return list((await session.scalars(query)).all())


def _install_roles(app: FastAPI) -> None:
    @app.get("/v3/roles")
    async def list_roles(request: Request) -> dict[str, Any]:
        async with sessions(request)() as session:
            await require_admin(session, request, "list_roles")
            query = select(IdentityRole).order_by(IdentityRole.name)
            if "name" in request.query_params:
                query = query.where(IdentityRole.name == request.query_params["name"])
            rows = (await session.scalars(query)).all()
        base = identity_base(request)
        return {"roles": [views.role(r, base) for r in rows], "links": {"self": f"{base}/v3/roles"}}

    @app.post("/v3/roles", status_code=201)
    async def create_role(request: Request) -> dict[str, Any]:
        fields = await read_body(request, "role", RoleFields)
        if not fields.name:
            raise bad_request("Invalid input for role: 'name' is a required property.")
        if fields.domain_id is not None:
            raise bad_request("Domain-specific roles are not supported: leave domain_id out.")
        async with sessions(request)() as session:
            await require_admin(session, request, "create_role")
            role = IdentityRole(id=uuid.uuid4().hex, name=fields.name, description=fields.description or "")
            session.add(role)
            await _commit(session, f"role {fields.name}")
            return {"role": views.role(role, identity_base(request))}

    @app.get("/v3/roles/{role_id}")
    async def show_role(request: Request, role_id: str) -> dict[str, Any]:
        async with sessions(request)() as session:
            await require_admin(session, request, "get_role")
            return {"role": views.role(await _get(session, IdentityRole, role_id, "role"), identity_base(request))}

    @app.delete("/v3/roles/{role_id}", status_code=204)
    async def delete_role(request: Request, role_id: str) -> Response:
        async with sessions(request)() as session, session.begin():
            await require_admin(session, request, "delete_role")
            role = await _get(session, IdentityRole, role_id, "role")
            await session.execute(delete(IdentityRoleAssignment).where(IdentityRoleAssignment.role_id == role_id))
            await session.delete(role)
        return Response(status_code=204)


def _install_assignments(app: FastAPI) -> None:
    grant_path = "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}"

    async def _grant_parts(session: AsyncSession, project_id: str, user_id: str, role_id: str) -> None:
        await _get(session, IdentityProject, project_id, "project")
        await _get(session, IdentityUser, user_id, "user")
        await _get(session, IdentityRole, role_id, "role")

    @app.put(grant_path, status_code=204)
    async def grant(request: Request, project_id: str, user_id: str, role_id: str) -> Response:
        async with sessions(request)() as session, session.begin():
            await require_admin(session, request, "create_grant")
            await _grant_parts(session, project_id, user_id, role_id)
            key = (user_id, project_id, role_id)
            if await session.get(IdentityRoleAssignment, key) is None:
                session.add(IdentityRoleAssignment(user_id=user_id, project_id=project_id, role_id=role_id))
        return Response(status_code=204)

    @app.head(grant_path)
    async def check_grant(request: Request, project_id: str, user_id: str, role_id: str) -> Response:
        async with sessions(request)() as session:
            await require_admin(session, request, "check_grant")
            await _grant_parts(session, project_id, user_id, role_id)
            found = await session.get(IdentityRoleAssignment, (user_id, project_id, role_id))
        return Response(status_code=204 if found else 404)

    @app.delete(grant_path, status_code=204)
    async def revoke_grant(request: Request, project_id: str, user_id: str, role_id: str) -> Response:
        async with sessions(request)() as session, session.begin():
            await require_admin(session, request, "revoke_grant")
            row = await session.get(IdentityRoleAssignment, (user_id, project_id, role_id))
            if row is None:
                raise not_found("grant", f"role {role_id} of user {user_id} on project {project_id}")
            await session.delete(row)
        return Response(status_code=204)

    @app.get("/v3/projects/{project_id}/users/{user_id}/roles")
    async def list_grants(request: Request, project_id: str, user_id: str) -> dict[str, Any]:
        async with sessions(request)() as session:
            await require_admin(session, request, "list_grants")
            await _get(session, IdentityProject, project_id, "project")
            await _get(session, IdentityUser, user_id, "user")
            rows = await tokens.roles_on_project(session, user_id, project_id)
        base = identity_base(request)
        return {"roles": [views.role(r, base) for r in rows], "links": {"self": str(request.url)}}

    @app.get("/v3/role_assignments")
    async def list_assignments(request: Request) -> dict[str, Any]:
        q = request.query_params
        names = "include_names" in q and _truthy(q.get("include_names") or "true")
        async with sessions(request)() as session:
            await require_admin(session, request, "list_role_assignments")
            query = (select(IdentityRoleAssignment, IdentityUser, IdentityProject, IdentityRole)
                     .join(IdentityUser, IdentityUser.id == IdentityRoleAssignment.user_id)
                     .join(IdentityProject, IdentityProject.id == IdentityRoleAssignment.project_id)
                     .join(IdentityRole, IdentityRole.id == IdentityRoleAssignment.role_id))
            for param, column in (("user.id", IdentityRoleAssignment.user_id),
                                  ("scope.project.id", IdentityRoleAssignment.project_id),
                                  ("role.id", IdentityRoleAssignment.role_id)):
                if param in q:
                    query = query.where(column == q[param])
            rows = (await session.execute(query)).all()
        base = identity_base(request)
        out = []
        for _, user, project, role in rows:
            item: dict[str, Any] = {
                "user": {"id": user.id}, "scope": {"project": {"id": project.id}}, "role": {"id": role.id},
                "links": {"assignment": f"{base}/v3/projects/{project.id}/users/{user.id}/roles/{role.id}"}}
            if names:
                domain = views.DOMAIN_REF
                item["user"].update(name=user.name, domain=domain)
                item["scope"]["project"].update(name=project.name, domain=domain)
                item["role"]["name"] = role.name
            out.append(item)
        return {"role_assignments": out, "links": {"self": f"{base}/v3/role_assignments"}}


def _install_domains(app: FastAPI) -> None:
    @app.get("/v3/domains")
    async def list_domains(request: Request) -> dict[str, Any]:
        async with sessions(request)() as session:
            await caller(session, request)
        q = request.query_params
        matches = q.get("name", views.DOMAIN_REF["name"]) == views.DOMAIN_REF["name"]
        return {"domains": [views.domain(identity_base(request))] if matches else [],
                "links": {"self": f"{identity_base(request)}/v3/domains"}}

    @app.get("/v3/domains/{domain_id}")
    async def show_domain(request: Request, domain_id: str) -> dict[str, Any]:
        async with sessions(request)() as session:
            await caller(session, request)
        if domain_id != DEFAULT_DOMAIN_ID:
            raise not_found("domain", domain_id)
        return {"domain": views.domain(identity_base(request))}


def install(app: FastAPI) -> None:
    _install_projects(app)
    _install_users(app)
    _install_roles(app)
    _install_assignments(app)
    _install_domains(app)

