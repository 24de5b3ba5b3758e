"""Fixtures shared by the whole suite: settings on a temporary data dir, a running cloud, a client."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Callable

import httpx
import pytest

from novalite.bootstrap import ALL_ROLES, Cloud
from novalite.config import Settings


def make_settings(data_dir: Path, **sections: dict[str, Any]) -> Settings:
    """Settings for tests: a private data dir, three fake hosts, fast periodic tasks."""
    base: dict[str, dict[str, Any]] = {
        "service": {"data_dir": data_dir},
        "compute": {"fake_host_count": 3, "heartbeat_interval": 1.0, "resource_report_interval": 5.0},
        "bus": {"call_timeout": 30.0},
        # The suite speaks noauth2 tokens and boots made-up image names; identity and image
        # tests turn these on for themselves.
        "api": {"auth_strategy": "noauth2"},
        "image": {"enabled": False},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return Settings(**base)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **sections: make_settings(tmp_path, **sections)


@pytest.fixture
async def cloud_factory() -> AsyncIterator[Callable[..., Any]]:
    started: list[Cloud] = []

    async def _start(settings: Settings, roles: set[str] | None = None, all_in_one: bool = True) -> Cloud:
        cloud = Cloud(settings=settings, roles=roles or set(ALL_ROLES), all_in_one=all_in_one)
        await cloud.start()
        started.append(cloud)
        return cloud

    yield _start
    for cloud in reversed(started):
        await cloud.stop()


@pytest.fixture
async def cloud(cloud_factory: Callable[..., Any], settings_factory: Callable[..., Settings]) -> Cloud:
    cloud = await cloud_factory(settings_factory())
    await cloud.wait_background()
    return cloud


def client_for(cloud: Cloud, token: str = "admin:admin", version: str = "2.100") -> httpx.AsyncClient:
    headers = {"X-Auth-Token": token}
    if version:
        headers["OpenStack-API-Version"] = f"compute {version}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=cloud.app), base_url="http://novalite",
                             headers=headers, timeout=60)


@pytest.fixture
async def client(cloud: Cloud) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(cloud) as c:
        yield c
