"""Identity v3 tokens: discovery, password and token auth, scope, validate, revoke, expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from novalite.services.identity.db_models import IdentityToken
from novalite.services.identity.tokens import token_hash
from tests.services.identity.conftest import ADMIN_PASSWORD, TOKENS, password_body

SERVERS = "/compute/v2.1/servers"


async def test_discovery_is_unauthenticated(identity):
    root = await identity.http.get("/identity")
    assert root.status_code == 300
    (v3,) = root.json()["versions"]["values"]
    assert v3["id"].startswith("v3.") and v3["links"][0]["href"] == "http://novalite/identity/v3/"
    doc = await identity.http.get("/identity/v3")
    assert doc.status_code == 200 and doc.json()["version"]["status"] == "stable"


async def test_password_token_carries_user_project_roles_and_catalog(identity):
    response = await identity.http.post(TOKENS, json=password_body("admin", ADMIN_PASSWORD))
    assert response.status_code == 201, response.text
    assert response.headers["x-subject-token"]
    token = response.json()["token"]
    assert token["methods"] == ["password"]
    assert token["user"]["name"] == "admin" and token["project"]["name"] == "admin"
    assert {r["name"] for r in token["roles"]} == {"admin", "member", "reader"}
    assert token["expires_at"].endswith("Z")
    urls = {(s["type"], e["interface"]): (e["url"], e["region_id"]) for s in token["catalog"] for e in s["endpoints"]}
    assert urls[("compute", "public")] == ("http://novalite/compute/v2.1", "RegionOne")
    assert urls[("placement", "internal")][0] == "http://novalite/placement"
    assert urls[("image", "admin")][0] == "http://novalite/image"
    assert urls[("identity", "public")][0] == "http://novalite/identity"
    assert len(urls) == 12


@pytest.mark.parametrize("scope", [
    {"name": "admin", "domain": {"name": "Default"}},
    {"name": "admin", "domain": {"id": "default"}},
])
async def test_project_scope_by_name_with_either_domain_form(identity, scope):
    response = await identity.http.post(TOKENS, json=password_body("admin", ADMIN_PASSWORD, **scope))
    assert response.status_code == 201, response.text
    project_id = response.json()["token"]["project"]["id"]
    by_id = await identity.http.post(TOKENS, json=password_body("admin", ADMIN_PASSWORD, id=project_id))
    assert by_id.status_code == 201 and by_id.json()["token"]["project"]["id"] == project_id


async def test_wrong_password_and_unknown_user_get_the_same_answer(identity):
    wrong = await identity.http.post(TOKENS, json=password_body("admin", "nope"))
    unknown = await identity.http.post(TOKENS, json=password_body("nobody", "nope"))
    other_domain = await identity.http.post(TOKENS, json={"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"name": "Elsewhere"}, "password": ADMIN_PASSWORD}}}}})
    assert wrong.status_code == unknown.status_code == other_domain.status_code == 401
    assert wrong.json() == unknown.json() == other_domain.json()
    assert wrong.json()["error"]["title"] == "Unauthorized"
    assert "x-subject-token" not in wrong.headers


@pytest.mark.parametrize("body", [
    b"not json",
    b'{"auth": {}}',
    b'{"auth": {"identity": {"methods": []}}}',
    b'{"auth": {"identity": {"methods": ["password"]}}}',
    b'{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "x"}}}}}',
])
async def test_malformed_auth_bodies_are_400(identity, body):
    response = await identity.http.post(TOKENS, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == 400


async def test_scope_to_a_project_without_a_role_is_401(identity):
    await identity.user_in_project("alice", "alice-pw", "alpha", "member")
    response = await identity.http.post(TOKENS, json=password_body("alice", "alice-pw", "admin"))
    assert response.status_code == 401
    assert (await identity.http.post(TOKENS, json=password_body("alice", "alice-pw", "alpha"))).status_code == 201


async def test_validate_and_revoke(identity):
    token = await identity.token()
    headers = {**identity.as_(token), "X-Subject-Token": token}
    shown = await identity.http.get(TOKENS, headers=headers)
    assert shown.status_code == 200 and shown.headers["x-subject-token"] == token
    assert (await identity.http.head(TOKENS, headers=headers)).status_code == 200
    assert (await identity.http.get(SERVERS, headers=identity.as_(token))).status_code == 200

    assert (await identity.http.delete(TOKENS, headers=headers)).status_code == 204
    assert (await identity.http.get(SERVERS, headers=identity.as_(token))).status_code == 401
    other = await identity.token()
    gone = await identity.http.get(TOKENS, headers={**identity.as_(other), "X-Subject-Token": token})
    assert gone.status_code == 404


async def test_users_cannot_look_at_other_users_tokens(identity):
    await identity.user_in_project("bob", "bob-pw", "beta", "member")
    bob = await identity.token("bob", "bob-pw", "beta")
    admin = await identity.token()
    response = await identity.http.get(TOKENS, headers={**identity.as_(bob), "X-Subject-Token": admin})
    assert response.status_code == 404


async def test_expired_token_is_refused_everywhere(identity):
    token = await identity.token()
    sessions = identity.cloud.runtime.require_api_db()
    async with sessions() as session, session.begin():
        await session.execute(update(IdentityToken).where(IdentityToken.id_hash == token_hash(token))
                              .values(expires_at=dt.datetime(2000, 1, 1)))
    for path in (SERVERS, "/image/v2/images", "/placement/resource_providers", "/identity/v3/projects"):
        response = await identity.http.get(path, headers=identity.as_(token))
        assert response.status_code == 401, (path, response.text)
    rescope = await identity.http.post(TOKENS, json={"auth": {"identity": {"methods": ["token"],
                                                                           "token": {"id": token}}}})
    assert rescope.status_code == 401


async def test_token_method_rescopes_without_extending_expiry(identity):
    await identity.user_in_project("carol", "carol-pw", "gamma", "member")
    unscoped = await identity.http.post(TOKENS, json=password_body("carol", "carol-pw", project=None))
    assert unscoped.status_code == 201 and "project" not in unscoped.json()["token"]
    # An unscoped token is no key to the project APIs.
    assert (await identity.http.get(SERVERS, headers=identity.as_(unscoped.headers["x-subject-token"]))
            ).status_code == 401
    scoped = await identity.http.post(TOKENS, json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped.headers["x-subject-token"]}},
        "scope": {"project": {"name": "gamma", "domain": {"name": "Default"}}}}})
    assert scoped.status_code == 201, scoped.text
    body = scoped.json()["token"]
    assert body["project"]["name"] == "gamma" and body["methods"] == ["password", "token"]
    assert body["expires_at"] == unscoped.json()["token"]["expires_at"]


async def test_noauth_tokens_mean_nothing_when_identity_is_on(identity):
    assert (await identity.http.get(SERVERS, headers={"X-Auth-Token": "admin:admin"})).status_code == 401
    assert (await identity.http.get(SERVERS)).status_code == 401
