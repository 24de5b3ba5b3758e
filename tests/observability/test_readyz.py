"""/readyz answers within a bound and names what failed: a closed port, a server that never answers."""

from __future__ import annotations

import asyncio
import socket

import httpx

from novalite.bootstrap import Cloud
from tests.support.process import free_port


async def _placement_only(settings_factory, url: str) -> Cloud:
    settings = settings_factory(database={"placement_url": url}, metrics={"readiness_timeout": 1.0})
    cloud = Cloud(settings=settings, roles={"placement"}, migrate=False)
    await cloud.start()
    return cloud


async def _readyz(cloud: Cloud) -> httpx.Response:
    transport = httpx.ASGITransport(app=cloud.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://novalite", timeout=30) as client:
        assert (await client.get("/healthz")).status_code == 200  # the process lives all the same
        return await client.get("/readyz")


async def test_readyz_fails_for_a_database_on_a_closed_port(settings_factory):
    port = free_port()  # bound then released: nothing listens there
    cloud = await _placement_only(settings_factory, f"postgresql+asyncpg://nova:nova@127.0.0.1:{port}/placement")
    try:
        response = await _readyz(cloud)
    finally:
        await cloud.stop()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready" and body["failed"] == ["placement_database"]
    assert body["checks"]["bus"]["ok"] is True
    assert body["checks"]["placement_database"]["error"]


async def test_readyz_gives_up_on_a_database_that_never_answers(settings_factory):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (the kernel does) and never says a word
    port = listener.getsockname()[1]
    cloud = await _placement_only(settings_factory, f"postgresql+asyncpg://nova:nova@127.0.0.1:{port}/placement")
    try:
        response = await asyncio.wait_for(_readyz(cloud), 30)  # a bound, so a hang fails the test
    finally:
        await cloud.stop()
        listener.close()
    assert response.status_code == 503
    assert response.json()["checks"]["placement_database"]["error"] == "no answer within 1s"


async def test_readyz_is_ready_when_everything_answers(cloud, client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"api_database", "cell_database:cell0", "cell_database:cell1",
                                               "placement_database", "bus"}
