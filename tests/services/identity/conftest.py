"""A cloud that is its own identity service, with a known admin password and a second project."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import httpx
import pytest

from novalite.bootstrap import Cloud
from novalite.config import Settings
from novalite.services.identity.setup import ensure_admin

ADMIN_PASSWORD = "correct horse battery staple"
TOKENS = "/identity/v3/auth/tokens"


def password_body(user: str, password: str, project: str | None = "admin", **scope: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}}}
    if project is not None:
        body["auth"]["scope"] = {"project": scope or {"name": project, "domain": {"id": "default"}}}
    return body


@dataclass
class IdentityCloud:
    cloud: Cloud
    http: httpx.AsyncClient

    async def token(self, user: str = "admin", password: str = ADMIN_PASSWORD, project: str = "admin") -> str:
        response = await self.http.post(TOKENS, json=password_body(user, password, project))
        assert response.status_code == 201, response.text
        return response.headers["x-subject-token"]

    def as_(self, token: str) -> dict[str, str]:
        return {"X-Auth-Token": token}

    async def admin_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(path, json=body, headers=self.as_(await self.token()))
        assert response.status_code == 201, response.text
        return response.json()

    async def user_in_project(self, name: str, password: str, project: str, role: str) -> tuple[str, str]:
        """A new user with `role` on a new project; returns (user id, project id)."""
        admin = self.as_(await self.token())
        project_id = (await self.admin_post("/identity/v3/projects", {"project": {"name": project}}))["project"]["id"]
        user_id = (await self.admin_post("/identity/v3/users", {"user": {"name": name, "password": password}}))[
            "user"]["id"]
        roles = (await self.http.get(f"/identity/v3/roles?name={role}", headers=admin)).json()["roles"]
        grant = await self.http.put(f"/identity/v3/projects/{project_id}/users/{user_id}/roles/{roles[0]['id']}",
                                    headers=admin)
        assert grant.status_code == 204, grant.text
        return user_id, project_id


@pytest.fixture
async def identity(cloud_factory: Callable[..., Any], settings_factory: Callable[..., Settings]
                   ) -> AsyncIterator[IdentityCloud]:
    cloud = await cloud_factory(settings_factory(api={"auth_strategy": "identity"}, image={"enabled": True}))
    await cloud.wait_background()
    assert cloud.runtime is not None and cloud.runtime.api_sessions is not None
    await ensure_admin(cloud.runtime.api_sessions, ADMIN_PASSWORD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cloud.app), base_url="http://novalite",
                                 timeout=60) as http:
        yield IdentityCloud(cloud, http)
