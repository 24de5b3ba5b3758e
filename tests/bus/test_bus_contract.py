"""The bus contract: every test runs on memory:// and on RabbitMQ (a vhost of its own)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, Callable

import pytest

from novalite.bus.factory import create_bus
from novalite.context import RequestContext, current_context
from novalite.exceptions import (
    InstanceNotFound,
    MessageDeliveryFailure,
    MessagingTimeout,
    RemoteError,
)
from tests.bus.conftest import Buses

# Long enough for any healthy bus, short enough that a lost message fails the test fast.
WAIT = 10.0


class Recorder:
    """An endpoint that remembers what reached it and can be held inside a handler."""

    def __init__(self, name: str = "server") -> None:
        self.name = name
        self.seen: list[Any] = []
        self.contexts: list[RequestContext | None] = []
        self.arrived = asyncio.Condition()
        self.release = asyncio.Event()
        self.active = 0
        self.max_active = 0

    async def _note(self, item: Any) -> None:
        async with self.arrived:
            self.seen.append(item)
            self.arrived.notify_all()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(WAIT):
            async with self.arrived:
                await self.arrived.wait_for(lambda: len(self.seen) >= count)

    async def echo(self, ctx: RequestContext, value: Any) -> dict[str, Any]:
        return {"value": value, "server": self.name}

    async def record(self, ctx: RequestContext, item: Any) -> None:
        self.contexts.append(current_context.get())
        await self._note(item)

    async def whoami(self, ctx: RequestContext) -> dict[str, Any]:
        return {"arg": ctx.model_dump(), "contextvar": current_context.get().model_dump()}

    async def not_found(self, ctx: RequestContext, uuid: str) -> None:
        raise InstanceNotFound(f"instance {uuid} could not be found")

    async def broken(self, ctx: RequestContext) -> None:
        raise ValueError("disk on fire")

    async def unserializable(self, ctx: RequestContext) -> object:
        return object()

    async def _private(self, ctx: RequestContext) -> str:
        return "should never be reachable"

    async def hold(self, ctx: RequestContext, item: Any) -> str:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        await self._note(item)
        try:
            await self.release.wait()
        finally:
            self.active -= 1
        return "released"


def tenant_context() -> RequestContext:
    return RequestContext(
        user_id="alice", project_id="proj-1", roles=["member", "reader"], global_request_id="req-global-1"
    )


async def test_call_returns_result(buses: Buses, topic: str) -> None:
    server, client = await buses.new(), await buses.new()
    await server.serve(topic, Recorder("a"))

    value = {"nested": [1, 2.5, "three", None, {"ok": True}]}
    result = await client.call(topic, "echo", tenant_context(), value=value)

    assert result == {"value": value, "server": "a"}


async def test_remotable_error_is_raised_as_the_same_class(buses: Buses, topic: str) -> None:
    server, client = await buses.new(), await buses.new()
    await server.serve(topic, Recorder())

    with pytest.raises(InstanceNotFound, match="instance i-1 could not be found") as info:
        await client.call(topic, "not_found", tenant_context(), uuid="i-1")
    assert type(info.value) is InstanceNotFound


async def test_other_errors_arrive_as_remote_error_with_their_type(buses: Buses, topic: str) -> None:
    server, client = await buses.new(), await buses.new()
    await server.serve(topic, Recorder())

    with pytest.raises(RemoteError) as info:
        await client.call(topic, "broken", tenant_context())
    assert info.value.exc_type == "ValueError"
    assert info.value.message == "disk on fire"


async def test_a_result_json_cannot_carry_is_an_error_not_a_timeout(buses: Buses, topic: str) -> None:
    server, client = await buses.new(), await buses.new()
    await server.serve(topic, Recorder())

    with pytest.raises(RemoteError) as info:
        await client.call(topic, "unserializable", tenant_context())
    assert info.value.exc_type == "UnserializableResult"


@pytest.mark.parametrize("method", ["no_such_method", "_private", "__init__"])
async def test_unknown_or_private_method_is_remote_error(buses: Buses, topic: str, method: str) -> None:
    server, client = await buses.new(), await buses.new()
    await server.serve(topic, Recorder())

    with pytest.raises(RemoteError) as info:
        await client.call(topic, method, tenant_context())
    assert info.value.exc_type == "UnsupportedMethod"
    assert method in info.value.message


async def test_call_timeout_names_topic_and_method(buses: Buses, topic: str) -> None:
    server, client = await buses.new(), await buses.new()
    endpoint = Recorder()
    await server.serve(topic, endpoint)

    try:
        with pytest.raises(MessagingTimeout) as info:
            await client.call(topic, "hold", tenant_context(), timeout=0.2, item=1)
    finally:
        endpoint.release.set()
    assert (info.value.topic, info.value.method, info.value.timeout) == (topic, "hold", 0.2)
    assert topic in str(info.value) and "hold" in str(info.value)


async def test_send_to_a_topic_nobody_ever_served_fails_at_the_sender(buses: Buses, topic: str) -> None:
    client = await buses.new()

    with pytest.raises(MessageDeliveryFailure, match=topic):
        await client.cast(topic, "record", tenant_context(), item=1)
    with pytest.raises(MessageDeliveryFailure, match=topic):
        await client.call(topic, "echo", tenant_context(), value=1)


async def test_cast_reaches_exactly_one_of_competing_servers(buses: Buses, topic: str) -> None:
    servers = [Recorder(f"s{i}") for i in range(3)]
    for endpoint in servers:
        await (await buses.new()).serve(topic, endpoint)
    client = await buses.new()

    for item in range(30):
        await client.cast(topic, "record", tenant_context(), item=item)
    await wait_until(lambda: sum(len(endpoint.seen) for endpoint in servers) >= 30)
    await settle()

    delivered = Counter(item for endpoint in servers for item in endpoint.seen)
    assert delivered == Counter(range(30))


async def test_fanout_reaches_every_server_once(buses: Buses, topic: str) -> None:
    servers = [Recorder(f"s{i}") for i in range(3)]
    for endpoint in servers:
        await (await buses.new()).serve(topic, endpoint)
    deaf = Recorder("no-fanout")
    await (await buses.new()).serve(topic, deaf, fanout=False)
    client = await buses.new()

    await client.fanout(topic, "record", tenant_context(), item="hello all")
    for endpoint in servers:
        await endpoint.wait_for(1)
    await settle()

    assert [endpoint.seen for endpoint in servers] == [["hello all"]] * 3
    assert deaf.seen == []


async def test_fanout_with_no_server_running_is_not_an_error(buses: Buses, topic: str) -> None:
    client = await buses.new()
    await client.fanout(topic, "record", tenant_context(), item=1)


async def test_request_context_arrives_intact(buses: Buses, topic: str) -> None:
    server, client = await buses.new(), await buses.new()
    endpoint = Recorder()
    await server.serve(topic, endpoint)
    ctx = tenant_context()

    seen = await client.call(topic, "whoami", ctx)
    await client.cast(topic, "record", ctx, item="cast")
    await endpoint.wait_for(1)

    assert seen["arg"] == ctx.model_dump()
    assert seen["contextvar"] == ctx.model_dump()
    assert endpoint.contexts == [ctx]


async def test_handlers_run_concurrently_up_to_executor_size(buses: Buses, topic: str) -> None:
    server = await buses.new(executor_size=3)
    client = await buses.new()
    endpoint = Recorder()
    await server.serve(topic, endpoint)

    for item in range(7):
        await client.cast(topic, "hold", tenant_context(), item=item)
    await endpoint.wait_for(3)
    # Room for a fourth handler to start, were the bound broken.
    await settle()
    assert endpoint.active == 3

    endpoint.release.set()
    await endpoint.wait_for(7)
    assert endpoint.max_active == 3


async def test_a_busy_server_leaves_what_it_cannot_start_in_the_queue(buses: Buses, topic: str) -> None:
    server = await buses.new(executor_size=1)
    client = await buses.new()
    endpoint = Recorder()
    await server.serve(topic, endpoint)
    for item in range(4):
        await client.cast(topic, "hold", tenant_context(), item=item)
    await endpoint.wait_for(1)

    async def depth() -> int:
        return (await client.queue_depths())[topic]

    try:
        # One message runs, one waits for the handler slot; the rest stay queued where a
        # competing server could take them (on RabbitMQ: prefetch = executor_size).
        async with asyncio.timeout(WAIT):
            while await depth() > 2:
                await asyncio.sleep(0.01)
        await settle()
        assert await depth() == 2
    finally:
        endpoint.release.set()
    await endpoint.wait_for(4)


async def test_queue_depths_show_waiting_messages_then_drain(buses: Buses, topic: str) -> None:
    server, client = await buses.new(), await buses.new()
    first = Recorder("before restart")
    consumer = await server.serve(topic, first)
    await consumer.stop()  # the service restarts: its topic queue keeps the casts

    for item in range(3):
        await client.cast(topic, "record", tenant_context(), item=item)
    assert (await client.queue_depths())[topic] == 3

    second = Recorder("after restart")
    await server.serve(topic, second)
    await second.wait_for(3)
    assert sorted(second.seen) == [0, 1, 2]
    assert first.seen == []
    assert (await client.queue_depths())[topic] == 0


async def test_stopping_a_server_hands_back_what_it_had_not_started(buses: Buses, topic: str) -> None:
    server = await buses.new(executor_size=1)
    client = await buses.new()
    first = Recorder("stopping")
    consumer = await server.serve(topic, first)
    for item in range(3):
        await client.cast(topic, "hold", tenant_context(), item=item)
    await first.wait_for(1)

    await consumer.stop()  # cancels the running handler: delivery is at most once
    second = Recorder("next")
    second.release.set()
    await server.serve(topic, second)
    await second.wait_for(2)
    await settle()

    assert first.seen == [0]
    assert sorted(second.seen) == [1, 2]


async def test_pending_call_fails_when_the_bus_closes(transport_url: str, topic: str) -> None:
    bus = create_bus(transport_url, call_timeout=WAIT, executor_size=4)
    endpoint = Recorder()
    await bus.serve(topic, endpoint)
    call = asyncio.create_task(bus.call(topic, "hold", tenant_context(), item=1))
    await endpoint.wait_for(1)

    await bus.close()

    with pytest.raises(MessageDeliveryFailure):
        await call
    assert endpoint.active == 0  # the held handler was stopped, not left running


async def test_serve_stop_close_leave_no_tasks_behind(transport_url: str, topic: str) -> None:
    before = asyncio.all_tasks()
    bus = create_bus(transport_url, call_timeout=WAIT, executor_size=4)
    await bus.start()
    endpoint = Recorder()
    consumer = await bus.serve(topic, endpoint)
    await bus.serve(topic + "_other", Recorder())
    assert await bus.call(topic, "echo", tenant_context(), value=1) == {"value": 1, "server": "server"}
    await bus.cast(topic, "hold", tenant_context(), item="held at stop")
    await endpoint.wait_for(1)

    await consumer.stop()
    await bus.close()

    leftover: set[asyncio.Task[Any]] = set()
    for _ in range(100):  # closing sockets finishes over a few loop turns
        leftover = asyncio.all_tasks() - before - {asyncio.current_task()}
        if not leftover:
            break
        await asyncio.sleep(0.01)
    assert leftover == set()


async def wait_until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.01)


async def settle() -> None:
    """Give messages that should not exist a chance to arrive before asserting they did not."""
    await asyncio.sleep(0.2)
