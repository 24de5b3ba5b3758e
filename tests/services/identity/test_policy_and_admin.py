"""Roles and projects: isolation between projects, admin-only APIs, the identity admin API."""

from __future__ import annotations

from tests.services.identity.conftest import TOKENS, password_body

SERVERS = "/compute/v2.1/servers"


async def test_projects_are_isolated_and_admin_apis_need_admin(identity):
    await identity.user_in_project("alice", "alice-pw", "alpha", "member")
    await identity.user_in_project("bob", "bob-pw", "beta", "member")
    alice = identity.as_(await identity.token("alice", "alice-pw", "alpha"))
    bob = identity.as_(await identity.token("bob", "bob-pw", "beta"))
    # Images are checked, so boot from an image alice owns.
    image = (await identity.http.post("/image/v2/images", headers=alice, json={
        "name": "img", "disk_format": "raw", "container_format": "bare"})).json()
    await identity.http.put(f"/image/v2/images/{image['id']}/file", content=b"disk", headers=alice)
    created = await identity.http.post(SERVERS, headers=alice, json={"server": {
        "name": "vm", "imageRef": image["id"], "flavorRef": "1", "networks": "none"}})
    assert created.status_code == 202, created.text
    server_id = created.json()["server"]["id"]

    assert (await identity.http.get(f"{SERVERS}/{server_id}", headers=alice)).status_code == 200
    assert (await identity.http.get(f"{SERVERS}/{server_id}", headers=bob)).status_code == 404
    assert server_id not in (await identity.http.get(SERVERS, headers=bob)).text
    assert (await identity.http.get("/compute/v2.1/os-hypervisors", headers=bob)).status_code == 403
    assert (await identity.http.get("/placement/resource_providers", headers=bob)).status_code == 403
    admin = identity.as_(await identity.token())
    assert (await identity.http.get(f"{SERVERS}/{server_id}", headers=admin)).status_code == 200
    assert (await identity.http.get("/compute/v2.1/os-hypervisors", headers=admin)).status_code == 200


async def test_identity_admin_api_is_for_admins(identity):
    await identity.user_in_project("alice", "alice-pw", "alpha", "member")
    alice = identity.as_(await identity.token("alice", "alice-pw", "alpha"))
    for method, path in (("GET", "/identity/v3/users"), ("GET", "/identity/v3/projects"),
                         ("POST", "/identity/v3/projects"), ("GET", "/identity/v3/role_assignments")):
        response = await identity.http.request(method, path, headers=alice, json={"project": {"name": "x"}})
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["title"] == "Forbidden"
    assert (await identity.http.get("/identity/v3/users")).status_code == 401


async def test_removing_the_role_or_changing_the_password_ends_access(identity):
    user_id, project_id = await identity.user_in_project("dave", "dave-pw", "delta", "member")
    admin = identity.as_(await identity.token())
    dave = identity.as_(await identity.token("dave", "dave-pw", "delta"))
    assert (await identity.http.get(SERVERS, headers=dave)).status_code == 200
    member = (await identity.http.get("/identity/v3/roles?name=member", headers=admin)).json()["roles"][0]["id"]
    grant = f"/identity/v3/projects/{project_id}/users/{user_id}/roles/{member}"
    assert (await identity.http.delete(grant, headers=admin)).status_code == 204
    assert (await identity.http.get(SERVERS, headers=dave)).status_code == 401
    assert (await identity.http.put(grant, headers=admin)).status_code == 204
    dave = identity.as_(await identity.token("dave", "dave-pw", "delta"))
    changed = await identity.http.patch(f"/identity/v3/users/{user_id}", headers=admin,
                                        json={"user": {"password": "new-pw"}})
    assert changed.status_code == 200, changed.text
    assert (await identity.http.get(SERVERS, headers=dave)).status_code == 401
    assert (await identity.http.post(TOKENS, json=password_body("dave", "dave-pw", "delta"))).status_code == 401
    assert (await identity.http.post(TOKENS, json=password_body("dave", "new-pw", "delta"))).status_code == 201


async def test_admin_crud(identity):
    admin = identity.as_(await identity.token())
    created = await identity.http.post("/identity/v3/projects", headers=admin, json={"project": {"name": "p1"}})
    assert created.status_code == 201
    project_id = created.json()["project"]["id"]
    dup = await identity.http.post("/identity/v3/projects", headers=admin, json={"project": {"name": "p1"}})
    assert dup.status_code == 409
    bad = await identity.http.post("/identity/v3/projects", headers=admin, json={"project": {"name": 5}})
    assert bad.status_code == 400
    other_domain = await identity.http.post("/identity/v3/users", headers=admin,
                                            json={"user": {"name": "u", "domain_id": "elsewhere"}})
    assert other_domain.status_code == 400
    listed = await identity.http.get("/identity/v3/projects?name=p1", headers=admin)
    assert [p["id"] for p in listed.json()["projects"]] == [project_id]
    patched = await identity.http.patch(f"/identity/v3/projects/{project_id}", headers=admin,
                                        json={"project": {"description": "lab"}})
    assert patched.json()["project"]["description"] == "lab"
    user = (await identity.http.post("/identity/v3/users", headers=admin, json={"user": {
        "name": "eve", "password": "eve-pw", "default_project_id": project_id}})).json()["user"]
    assert "password" not in user and "password_hash" not in user
    role = (await identity.http.post("/identity/v3/roles", headers=admin, json={"role": {"name": "auditor"}})
            ).json()["role"]
    assert (await identity.http.put(f"/identity/v3/projects/{project_id}/users/{user['id']}/roles/{role['id']}",
                                    headers=admin)).status_code == 204
    assignments = await identity.http.get(f"/identity/v3/role_assignments?user.id={user['id']}&include_names",
                                          headers=admin)
    (only,) = assignments.json()["role_assignments"]
    assert only["role"]["name"] == "auditor" and only["scope"]["project"]["name"] == "p1"
    # Without a scope, the token is scoped to the user's default project.
    token = await identity.http.post(TOKENS, json=password_body("eve", "eve-pw", project=None))
    assert token.json()["token"]["project"]["id"] == project_id
    assert (await identity.http.delete(f"/identity/v3/projects/{project_id}", headers=admin)).status_code == 204
    assert (await identity.http.get(f"/identity/v3/projects/{project_id}", headers=admin)).status_code == 404
    assert (await identity.http.get(SERVERS, headers=identity.as_(token.headers["x-subject-token"]))
            ).status_code == 401
    assert (await identity.http.delete(f"/identity/v3/users/{user['id']}", headers=admin)).status_code == 204
