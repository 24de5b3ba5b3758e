"""Fixtures that run every bus test on the in-memory transport and on RabbitMQ."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from typing import AsyncIterator, Iterator

import pytest

from novalite.bus.base import Bus
from novalite.bus.factory import create_bus
from tests.support.services import RABBIT_URL, require_rabbitmq


def rabbitmqctl(*args: str) -> None:
    """Run rabbitmqctl; the tests need it to make and remove their own vhosts."""
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("RabbitMQ is reachable but rabbitmqctl is not on PATH", pytrace=False)
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def add_vhost(name: str) -> str:
    """Create a vhost guest may use and return its transport URL."""
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return RABBIT_URL.rstrip("/") + "/" + name


@pytest.fixture(scope="session")
def rabbit_vhost() -> Iterator[str]:
    """A vhost of our own for the whole session, so leftovers never meet other tests."""
    require_rabbitmq()
    name = f"novalite_test_{uuid.uuid4().hex[:8]}"
    url = add_vhost(name)
    try:
        yield url
    finally:
        rabbitmqctl("delete_vhost", name)


@pytest.fixture
def topic() -> str:
    """Topic queues are durable on RabbitMQ: a fresh name keeps tests apart."""
    return f"topic_{uuid.uuid4().hex[:10]}"


class Buses:
    """Hands out buses the way processes would have them.

    On RabbitMQ every new() is another connection, as another process would open;
    the in-memory bus only reaches itself, so all servers and clients share one.
    """

    def __init__(self, url: str):
        self.url = url
        self.opened: list[Bus] = []

    @property
    def memory(self) -> bool:
        return self.url.startswith("memory")

    async def new(self, *, executor_size: int = 8, call_timeout: float = 10.0) -> Bus:
        if self.memory and self.opened:
            return self.opened[0]
        bus = create_bus(self.url, call_timeout=call_timeout, executor_size=executor_size)
        await bus.start()
        self.opened.append(bus)
        return bus

    async def close(self) -> None:
        for bus in self.opened:
            await bus.close()


@pytest.fixture(params=["memory", pytest.param("rabbit", marks=pytest.mark.rabbitmq)])
def transport_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("rabbit_vhost")


@pytest.fixture
async def buses(transport_url: str) -> AsyncIterator[Buses]:
    pool = Buses(transport_url)
    try:
        yield pool
    finally:
        await pool.close()
