"""The operations tests that matter on both buses run on the in-memory one and on RabbitMQ."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from tests.bus.conftest import add_vhost, rabbitmqctl
from tests.support.services import require_rabbitmq


@pytest.fixture
def rabbit_transport() -> Iterator[str]:
    """A vhost per test: queue depths and the events fanout must not meet other tests' queues."""
    require_rabbitmq()
    name = f"novalite_obs_{uuid.uuid4().hex[:8]}"
    url = add_vhost(name)
    try:
        yield url
    finally:
        rabbitmqctl("delete_vhost", name)


@pytest.fixture(params=["memory", pytest.param("rabbit", marks=pytest.mark.rabbitmq)])
def transport_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("rabbit_transport")
