"""A service user calling placement over HTTP with a token from this cloud's identity.

The token is fetched once and shared, renewed before it expires, fetched again once when
placement answers 401, and a wrong password is an error that says so at once.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import httpx
import pytest

from novalite.config import ConfigError, PlacementOptions, load_settings
from novalite.context import RequestContext
from novalite.service_auth import PasswordServiceAuth
from novalite.services.placement.client import PlacementError
from novalite.services.placement.http_client import SERVICE_AUTH_FAILED, HttpPlacementClient
from tests.services.identity.conftest import TOKENS, IdentityCloud

SERVICE_PASSWORD = "placement-secret"


@pytest.fixture
async def service_user(identity: IdentityCloud) -> IdentityCloud:
    await identity.user_in_project("placement", SERVICE_PASSWORD, "service", "admin")
    return identity


@pytest.fixture
async def http(identity: IdentityCloud) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """A client into the cloud that notes every token request (the requests are what is counted)."""
    issued: list[str] = []

    async def note(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path == TOKENS:
            issued.append(request.url.path)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=identity.cloud.app), timeout=30,
                                 event_hooks={"request": [note]}) as client:
        yield client, issued


def options(password: str = SERVICE_PASSWORD) -> PlacementOptions:
    return PlacementOptions(url="http://novalite/placement", auth_url="http://novalite/identity",
                            username="placement", password=password)


async def test_one_token_serves_many_requests_until_it_nears_expiry(service_user, http):
    client, issued = http
    auth = PasswordServiceAuth(options(), http=client)
    tokens = await asyncio.gather(*(auth.token() for _ in range(10)))
    assert len(set(tokens)) == 1 and len(issued) == 1

    # Tokens that live 2 s are renewed after half their life, before they expire.
    service_user.cloud.settings.identity.token_expiration = 2
    auth.invalidate(tokens[0])
    short = await auth.token()
    assert await auth.token() == short and len(issued) == 2
    await asyncio.sleep(1.2)
    assert await auth.token() != short and len(issued) == 3


async def test_placement_calls_carry_the_token_and_a_revoked_one_is_replaced_once(service_user, http):
    client, issued = http
    placement = HttpPlacementClient("http://novalite/placement", PasswordServiceAuth(options(), http=client),
                                    http=client)
    ctx = RequestContext.admin()
    hosts = await placement.list_resource_providers(ctx)
    assert len(hosts) == 3 and len(issued) == 1

    token = await placement._auth.token()
    admin = service_user.as_(await service_user.token())
    revoked = await service_user.http.delete(TOKENS, headers={**admin, "X-Subject-Token": token})
    assert revoked.status_code == 204
    assert len(await placement.list_resource_providers(ctx)) == 3
    assert len(issued) == 2


async def test_a_wrong_password_is_a_clear_error_not_a_retry_loop(service_user, http):
    client, issued = http
    placement = HttpPlacementClient("http://novalite/placement",
                                    PasswordServiceAuth(options("not-the-password"), http=client), http=client)
    with pytest.raises(PlacementError) as raised:
        await asyncio.wait_for(placement.list_resource_providers(RequestContext.admin()), timeout=10)
    assert raised.value.code == SERVICE_AUTH_FAILED and raised.value.status == 401
    assert "refused service user 'placement' (project 'service')" in str(raised.value)
    assert "check [placement] username, password and project_name" in str(raised.value)
    assert len(issued) == 1


async def test_a_service_user_without_the_admin_role_is_refused_by_placement(identity, http):
    client, _ = http
    await identity.user_in_project("placement", SERVICE_PASSWORD, "service", "member")
    placement = HttpPlacementClient("http://novalite/placement", PasswordServiceAuth(options(), http=client),
                                    http=client)
    with pytest.raises(PlacementError) as raised:
        await placement.list_resource_providers(RequestContext.admin())
    assert raised.value.status == 403


def test_placement_over_http_with_identity_needs_a_service_user(tmp_path, monkeypatch):
    for key in [k for k in __import__("os").environ if k.startswith("NOVALITE_")]:
        monkeypatch.delenv(key)
    path = tmp_path / "compute.toml"
    path.write_text('[placement]\nurl = "http://controller:8778/placement"\n')
    with pytest.raises(ConfigError, match=r"set \[placement\] auth_url, username and password"):
        load_settings(path)
    path.write_text('[api]\nauth_strategy = "noauth2"\n[placement]\nurl = "http://controller:8778/placement"\n')
    assert load_settings(path).placement.username == ""
