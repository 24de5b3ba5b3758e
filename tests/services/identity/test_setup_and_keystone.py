"""All-in-one bootstrap (admin, clouds.yaml) and validating tokens against a Keystone by HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import delete

from novalite.auth import Unauthorized
from novalite.services.identity.authenticator import KeystoneAuthenticator
from novalite.services.identity.db_models import IdentityUser
from novalite.services.identity.setup import prepare_all_in_one
from tests.services.identity.conftest import TOKENS, password_body


def _password(path) -> str:
    return json.loads(path.read_text().split("\n", 1)[1])["clouds"]["novalite"]["auth"]["password"]


async def test_admin_bootstrap_generates_once_and_survives_restarts(identity):
    cloud = identity.cloud
    settings = cloud.settings.model_copy(deep=True)
    settings.identity.admin_password = ""
    sessions = cloud.runtime.require_api_db()
    # The fixture created admin with a configured password; without the user, one is generated.
    async with sessions() as session, session.begin():
        await session.execute(delete(IdentityUser).where(IdentityUser.name == "admin"))
    lines: list[str] = []
    path = await prepare_all_in_one(settings, sessions, lines.append)
    assert path is not None and path.stat().st_mode & 0o077 == 0
    generated = _password(path)
    assert sum(generated in line for line in lines) == 1
    lines.clear()
    assert await prepare_all_in_one(settings, sessions, lines.append) == path
    assert _password(path) == generated and not any(generated in line for line in lines)
    response = await identity.http.post(TOKENS, json=password_body("admin", generated))
    assert response.status_code == 201, response.text


async def test_keystone_authenticator_trusts_what_keystone_says(identity):
    keystone_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=identity.cloud.app),
                                      base_url="http://keystone")
    authenticator = KeystoneAuthenticator("http://keystone/identity", cache_seconds=0, client=keystone_http)
    try:
        token = await identity.token()
        ctx = await authenticator.authenticate(token, "req-1")
        assert ctx.is_admin and ctx.project_id and ctx.request_id == "req-1"
        await identity.http.delete(TOKENS, headers={"X-Auth-Token": token, "X-Subject-Token": token})
        with pytest.raises(Unauthorized):
            await authenticator.authenticate(token)
        with pytest.raises(Unauthorized):
            await authenticator.authenticate("garbage")
        with pytest.raises(Unauthorized):
            await authenticator.authenticate(None)
    finally:
        await authenticator.close()


async def test_readers_read_images_but_do_not_write(identity):
    await identity.user_in_project("rita", "rita-pw", "rho", "reader")
    rita = identity.as_(await identity.token("rita", "rita-pw", "rho"))
    assert (await identity.http.get("/image/v2/images", headers=rita)).status_code == 200
    created = await identity.http.post("/image/v2/images", headers=rita, json={"name": "x"})
    assert created.status_code == 403 and "member role" in created.json()["message"]


async def test_readers_list_servers_but_cannot_create_or_act(identity):
    await identity.user_in_project("rex", "rex-pw", "rho", "reader")
    rex = identity.as_(await identity.token("rex", "rex-pw", "rho"))
    listed = await identity.http.get("/compute/v2.1/servers", headers=rex)
    assert listed.status_code == 200 and listed.json() == {"servers": []}
    body = {"server": {"name": "x", "imageRef": "i", "flavorRef": "1", "networks": "none"}}
    created = await identity.http.post("/compute/v2.1/servers", headers=rex, json=body)
    assert created.status_code == 403 and "member role" in created.json()["forbidden"]["message"]
    keys = await identity.http.post("/compute/v2.1/os-keypairs", headers=rex, json={"keypair": {"name": "k"}})
    assert keys.status_code == 403
