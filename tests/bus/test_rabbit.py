"""What only RabbitMQ has: lost connections, broker restarts, vhosts, broker refusals."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import AsyncIterator

import pytest
from yarl import URL

from novalite.bus.rabbit import RabbitBus
from novalite.exceptions import MessageDeliveryFailure, MessagingTimeout
from tests.bus.conftest import add_vhost, rabbitmqctl
from tests.bus.test_bus_contract import WAIT, Recorder, settle, tenant_context

pytestmark = pytest.mark.rabbitmq


def vhost_of(url: str) -> str:
    return URL(url).path[1:]


class RabbitBuses:
    """New connections to the session vhost, all closed at the end of the test."""

    def __init__(self, url: str):
        self.url = url
        self.opened: list[RabbitBus] = []

    async def new(self, *, executor_size: int = 8, call_timeout: float = WAIT, url: str = "") -> RabbitBus:
        bus = RabbitBus(url or self.url, call_timeout=call_timeout, executor_size=executor_size)
        await bus.start()
        self.opened.append(bus)
        return bus


@pytest.fixture
async def rabbit(rabbit_vhost: str) -> AsyncIterator[RabbitBuses]:
    pool = RabbitBuses(rabbit_vhost)
    try:
        yield pool
    finally:
        for bus in pool.opened:
            await bus.close()


async def drop_connections(url: str) -> None:
    """The broker closes every connection of our vhost, as in a failover or a network cut."""
    await asyncio.to_thread(rabbitmqctl, "close_all_connections", "--vhost", vhost_of(url), "novalite test")


async def fanout_until_heard(client: RabbitBus, topic: str, listener: Recorder) -> None:
    """A fanout reaches the servers running at that moment; one that is still restoring
    its private queue misses it, so send again until the listener is back."""
    async with asyncio.timeout(WAIT):
        while not listener.seen:
            await client.fanout(topic, "record", tenant_context(), item="ping")
            await asyncio.sleep(0.05)


async def test_lost_connection_fails_waiting_calls_then_everything_resumes(
    rabbit: RabbitBuses, topic: str
) -> None:
    server, client = await rabbit.new(), await rabbit.new()
    held = Recorder("held")
    await server.serve(topic, held)
    listener = Recorder("fanout listener")
    await server.serve(topic + ".events", listener)
    waiting = asyncio.create_task(client.call(topic, "hold", tenant_context(), item="in flight"))
    await held.wait_for(1)

    await drop_connections(rabbit.url)

    # The reply queue died with the connection: a clear error now, not a hang.
    with pytest.raises(MessageDeliveryFailure, match="lost while waiting for the reply to 'hold'"):
        await waiting
    held.release.set()
    # Neither bus was recreated: the client reconnects, the server's consumers resume.
    assert await client.call(topic, "echo", tenant_context(), value=2) == {"value": 2, "server": "held"}
    await client.cast(topic, "record", tenant_context(), item="after")
    await held.wait_for(2)
    assert held.seen == ["in flight", "after"]
    await fanout_until_heard(client, topic + ".events", listener)


async def test_sends_during_an_outage_wait_for_the_reconnection(rabbit: RabbitBuses, topic: str) -> None:
    server, client = await rabbit.new(), await rabbit.new()
    endpoint = Recorder()
    await server.serve(topic, endpoint)

    await drop_connections(rabbit.url)
    # Sent right away, while both connections are being restored.
    await client.cast(topic, "record", tenant_context(), item="during")
    result = await client.call(topic, "echo", tenant_context(), value="during")

    await endpoint.wait_for(1)
    assert endpoint.seen == ["during"]
    assert result == {"value": "during", "server": "server"}


async def test_a_long_outage_fails_sends_at_their_timeout_then_the_bus_recovers(
    rabbit: RabbitBuses, topic: str
) -> None:
    server = await rabbit.new()
    client = await rabbit.new(call_timeout=0.5)
    await server.serve(topic, Recorder())
    vhost = vhost_of(rabbit.url)

    # Without permissions every reconnection attempt is refused: an outage of our vhost only.
    await asyncio.to_thread(rabbitmqctl, "clear_permissions", "-p", vhost, "guest")
    try:
        await drop_connections(rabbit.url)
        # Either the send waits for a reconnection that never comes, or (on a slow machine)
        # it starts before the client noticed the drop; both must be an error at the sender.
        with pytest.raises(MessageDeliveryFailure,
                           match="did not confirm the cast 'record'|failed while sending the cast 'record'"):
            await client.cast(topic, "record", tenant_context(), item="lost")
        with pytest.raises(MessagingTimeout):
            await client.call(topic, "echo", tenant_context(), value=1)
        with pytest.raises(MessageDeliveryFailure, match="queue depths"):
            await client.queue_depths()
    finally:
        await asyncio.to_thread(rabbitmqctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    assert await client.call(topic, "echo", tenant_context(), timeout=WAIT, value=2) == {
        "value": 2, "server": "server"
    }


async def test_close_during_an_outage_fails_waiting_sends(rabbit: RabbitBuses, topic: str) -> None:
    client = await rabbit.new()
    await (await rabbit.new()).serve(topic, Recorder())
    vhost = vhost_of(rabbit.url)

    await asyncio.to_thread(rabbitmqctl, "clear_permissions", "-p", vhost, "guest")
    try:
        await drop_connections(rabbit.url)
        waiting = asyncio.create_task(client.call(topic, "echo", tenant_context(), value=1))
        await settle()  # the call is now waiting for the connection to come back
        await client.close()
        with pytest.raises(MessageDeliveryFailure, match="closed"):
            await waiting
    finally:
        await asyncio.to_thread(rabbitmqctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")


async def test_queue_depths_skip_a_queue_an_operator_deleted(rabbit: RabbitBuses, topic: str) -> None:
    bus = await rabbit.new()
    await (await bus.serve(topic, Recorder())).stop()
    await (await bus.serve(topic + ".kept", Recorder())).stop()
    await bus.cast(topic + ".kept", "record", tenant_context(), item=1)

    await asyncio.to_thread(rabbitmqctl, "delete_queue", "-p", vhost_of(rabbit.url), topic)

    assert await bus.queue_depths() == {topic + ".kept": 1}


async def test_an_unread_call_expires_instead_of_running_late(rabbit: RabbitBuses, topic: str) -> None:
    server, client = await rabbit.new(executor_size=1), await rabbit.new()
    consumer = await server.serve(topic, Recorder("gone"))
    await consumer.stop()

    with pytest.raises(MessagingTimeout):
        await client.call(topic, "record", tenant_context(), timeout=0.2, item="too late")
    await asyncio.sleep(0.3)  # let the broker's TTL pass: this test is about that expiry
    endpoint = Recorder("back")
    await server.serve(topic, endpoint)
    await client.cast(topic, "record", tenant_context(), item="marker")
    await endpoint.wait_for(1)
    await settle()

    assert endpoint.seen == ["marker"]


async def test_topic_queues_outlive_every_bus(rabbit: RabbitBuses, topic: str) -> None:
    first = await rabbit.new()
    await (await first.serve(topic, Recorder())).stop()
    await first.close()

    # A later process (e.g. the conductor while compute.<host> restarts) can still cast.
    sender = await rabbit.new()
    await sender.cast(topic, "record", tenant_context(), item="queued")
    await sender.close()

    endpoint = Recorder("restarted")
    await (await rabbit.new()).serve(topic, endpoint)
    await endpoint.wait_for(1)
    assert endpoint.seen == ["queued"]


async def test_each_vhost_is_its_own_bus(rabbit: RabbitBuses, topic: str) -> None:
    other_vhost = f"novalite_test_cell_{uuid.uuid4().hex[:8]}"
    other_url = await asyncio.to_thread(add_vhost, other_vhost)
    try:
        cell1 = await rabbit.new()
        cell2 = await rabbit.new(url=other_url)
        await cell1.serve(topic, Recorder("cell1"))

        with pytest.raises(MessageDeliveryFailure, match=other_vhost):
            await cell2.cast(topic, "record", tenant_context(), item=1)
        await cell2.close()
    finally:
        await asyncio.to_thread(rabbitmqctl, "delete_vhost", other_vhost)


async def test_a_missing_vhost_is_a_clear_error(rabbit_vhost: str) -> None:
    url = str(URL(rabbit_vhost).with_path("/novalite_no_such_vhost"))
    bus = RabbitBus(url, call_timeout=WAIT)

    with pytest.raises(MessageDeliveryFailure, match="novalite_no_such_vhost"):
        await bus.start()
    await bus.close()


async def test_a_cast_the_broker_refuses_is_an_error_at_the_sender(rabbit: RabbitBuses, topic: str) -> None:
    server, client = await rabbit.new(), await rabbit.new()
    await (await server.serve(topic, Recorder())).stop()
    # An operator policy: the queue holds one message and refuses the next (a nack).
    policy = f"limit_{topic}"
    await asyncio.to_thread(
        rabbitmqctl, "set_policy", "-p", vhost_of(rabbit.url), "--apply-to", "queues",
        policy, f"^{topic}$", '{"max-length": 1, "overflow": "reject-publish"}',
    )
    try:
        async with asyncio.timeout(WAIT):  # policies apply asynchronously
            while True:
                await client.cast(topic, "record", tenant_context(), item="fills the queue")
                try:
                    await client.cast(topic, "record", tenant_context(), item="refused")
                except MessageDeliveryFailure as exc:
                    assert "refused the cast 'record'" in str(exc)
                    break
    finally:
        await asyncio.to_thread(rabbitmqctl, "clear_policy", "-p", vhost_of(rabbit.url), policy)


def broker_restart_allowed() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("NOVALITE_TEST_BROKER_RESTART") == "1"


@pytest.mark.skipif(
    not broker_restart_allowed(),
    reason="restarts the shared RabbitMQ; runs when CI=true or NOVALITE_TEST_BROKER_RESTART=1",
)
async def test_broker_restart_keeps_queued_casts_and_every_service_resumes(
    rabbit: RabbitBuses, topic: str
) -> None:
    server, client = await rabbit.new(), await rabbit.new()
    consumer = await server.serve(topic, Recorder("before"))
    await consumer.stop()
    await client.cast(topic, "record", tenant_context(), item="persisted")
    listener = Recorder("listener")
    await server.serve(topic + ".events", listener)

    try:
        await asyncio.to_thread(rabbitmqctl, "stop_app")
        # A cast sent while the broker is down waits for it (bounded by call_timeout).
        during = asyncio.create_task(client.cast(topic, "record", tenant_context(), item="sent while down"))
    finally:
        await asyncio.to_thread(rabbitmqctl, "start_app")
    await asyncio.to_thread(rabbitmqctl, "await_startup")
    await during

    endpoint = Recorder("after")
    await server.serve(topic, endpoint)
    await endpoint.wait_for(2)
    assert sorted(endpoint.seen) == ["persisted", "sent while down"]
    assert await client.call(topic, "echo", tenant_context(), value=3) == {"value": 3, "server": "after"}
    await fanout_until_heard(client, topic + ".events", listener)

