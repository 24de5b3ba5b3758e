"""Speaking to a novalite identity service over HTTP, as the `openstack` client would."""

from __future__ import annotations

from typing import Any

import httpx

TOKENS = "/identity/v3/auth/tokens"


def password_body(user: str, password: str, project: str) -> dict[str, Any]:
    return {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "password": password, "domain": {"name": "Default"}}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}},
    }}


async def password_token(base_url: str, user: str, password: str, project: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        response = await http.post(TOKENS, json=password_body(user, password, project))
    assert response.status_code == 201, response.text
    return response.headers["x-subject-token"]


async def create_service_user(base_url: str, admin_password: str, name: str, password: str,
                              project: str = "service") -> None:
    """`openstack project create service`, `user create --password`, `role add --project --user admin`."""
    token = await password_token(base_url, "admin", admin_password, "admin")
    async with httpx.AsyncClient(base_url=f"{base_url}/identity/v3", timeout=60,
                                 headers={"X-Auth-Token": token}) as http:
        async def created(path: str, body: dict[str, Any]) -> str:
            response = await http.post(path, json=body)
            assert response.status_code == 201, response.text
            return next(iter(response.json().values()))["id"]

        project_id = await created("/projects", {"project": {"name": project}})
        user_id = await created("/users", {"user": {"name": name, "password": password,
                                                    "default_project_id": project_id}})
        role = (await http.get("/roles", params={"name": "admin"})).json()["roles"][0]
        granted = await http.put(f"/projects/{project_id}/users/{user_id}/roles/{role['id']}")
        assert granted.status_code == 204, granted.text
