"""Version negotiation, headers, error bodies, authentication and policy."""

from __future__ import annotations

from tests.services.placement.conftest import v
from tests.services.placement.helpers import error


async def test_root_is_the_version_document_and_needs_no_token(client):
    r = await client.get("/", headers={"x-auth-token": ""})
    assert r.status_code == 200
    version = r.json()["versions"][0]
    assert (version["id"], version["min_version"], version["max_version"]) == ("v1.0", "1.0", "1.39")


async def test_every_response_carries_version_vary_and_request_id(client):
    for path, headers in (("/", {}), ("/resource_providers", v("1.20")), ("/nope", {})):
        r = await client.get(path, headers=headers)
        assert r.headers["openstack-api-version"].startswith("placement 1.")
        assert r.headers["vary"] == "openstack-api-version"
        assert r.headers["x-openstack-request-id"].startswith("req-")
    r = await client.get("/resource_providers", headers=v("1.20"))
    assert r.headers["openstack-api-version"] == "placement 1.20"


async def test_no_header_means_the_minimum_and_latest_means_the_maximum(client):
    assert (await client.get("/")).headers["openstack-api-version"] == "placement 1.0"
    r = await client.get("/", headers=v("latest"))
    assert r.headers["openstack-api-version"] == "placement 1.39"


async def test_unsupported_version_is_406_with_the_range(client):
    r = await client.get("/resource_providers", headers=v("1.40"))
    assert r.status_code == 406
    err = error(r)
    assert (err["max_version"], err["min_version"]) == ("1.39", "1.0")
    assert "1.40" in err["detail"]
    r = await client.get("/", headers=v("2.0"))
    assert r.status_code == 406


async def test_malformed_version_is_400(client):
    r = await client.get("/", headers=v("1.a"))
    assert r.status_code == 400
    assert "invalid version" in error(r)["detail"]


async def test_error_body_has_placement_shape_and_code_from_1_23(client):
    missing = "/resource_providers/7d0e3dfa-5a36-4c8b-9a58-14c5bb07ea49"
    r = await client.get(missing, headers=v("1.23"))
    assert r.status_code == 404
    err = error(r)
    assert err["status"] == 404 and err["title"] == "Not Found"
    assert err["code"] == "placement.undefined_code"
    assert err["request_id"] == r.headers["x-openstack-request-id"]
    r = await client.get(missing, headers=v("1.22"))
    assert "code" not in error(r)


async def test_missing_token_is_401_and_non_admin_is_403(client):
    r = await client.get("/resource_providers", headers={"x-auth-token": ""})
    assert r.status_code == 401
    r = await client.get("/resource_providers", headers={"x-auth-token": "alice:demo"})
    assert r.status_code == 403
    assert "placement:resource_providers:list" in error(r)["detail"]


async def test_unknown_route_404_and_wrong_method_405(client):
    assert (await client.get("/nothing-here")).status_code == 404
    r = await client.patch("/resource_providers", headers=v("1.39"))
    assert r.status_code == 405
    assert error(r)["status"] == 405


async def test_malformed_json_and_wrong_media_type(client):
    r = await client.post("/resource_providers", content=b"{not json", headers={
        **v("1.39"), "content-type": "application/json"})
    assert r.status_code == 400
    assert "Malformed JSON" in error(r)["detail"]
    r = await client.post("/resource_providers", content=b"name=x", headers={
        **v("1.39"), "content-type": "text/plain"})
    assert r.status_code == 415


async def test_cache_headers_from_1_15(client):
    r = await client.get("/resource_providers", headers=v("1.15"))
    assert r.headers["cache-control"] == "no-cache" and "last-modified" in r.headers
    r = await client.get("/resource_providers", headers=v("1.14"))
    assert "last-modified" not in r.headers
