"""A cloud with the image service on, spoken to with noauth2 tokens (policy by project)."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable

import httpx
import pytest

from novalite.bootstrap import Cloud
from novalite.config import Settings
from tests.conftest import client_for

IMAGES = "/image/v2/images"
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "img", "disk_format": "raw", "container_format": "bare", **fields}
    response = await client.post(IMAGES, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def upload(client: httpx.AsyncClient, image_id: str, data: bytes, **headers: str) -> httpx.Response:
    return await client.put(f"{IMAGES}/{image_id}/file", content=data,
                            headers={"Content-Type": "application/octet-stream", **headers})


@pytest.fixture
async def image_cloud(cloud_factory: Callable[..., Any], settings_factory: Callable[..., Settings]) -> Cloud:
    cloud = await cloud_factory(settings_factory(image={"enabled": True, "max_size_mb": 1}))
    await cloud.wait_background()
    return cloud


@pytest.fixture
async def client(image_cloud: Cloud) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(image_cloud, token="alice:alpha") as c:
        yield c
