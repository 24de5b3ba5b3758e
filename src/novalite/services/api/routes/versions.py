"""Version documents: answered without a token, as Nova does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from novalite.services.api.microversion import MAX_VERSION, MIN_VERSION

router = APIRouter()


def v21_document(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base_url}/compute/v2.1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "https://docs.openstack.org/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


def versions_document(base_url: str) -> dict[str, Any]:
    v20 = {
        "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": f"{base_url}/compute/v2/"}],
    }
    v21 = v21_document(base_url)
    v21 = {k: v for k, v in v21.items() if k != "media-types"}
    v21["links"] = v21["links"][:1]
    return {"versions": [v20, v21]}


def base_url(request: Request) -> str:
    configured = request.app.state.runtime.settings.service.public_url
    if configured:
        return configured.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


@router.get("/")
async def show_version(request: Request) -> dict[str, Any]:
    return {"version": v21_document(base_url(request))}
