"""In-process transport: asyncio queues carrying JSON, for the all-in-one shape."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

from novalite.bus.base import BoundedExecutor, Bus, Consumer, Dispatcher, Envelope, Reply
from novalite.exceptions import MessageDeliveryFailure, MessagingTimeout


class _MemoryConsumer(Consumer):
    def __init__(self, bus: "MemoryBus", topic: str, dispatcher: Dispatcher,
                 fanout_queue: asyncio.Queue[str] | None):
        self.bus, self.topic, self.dispatcher = bus, topic, dispatcher
        self.fanout_queue = fanout_queue
        self.executor = BoundedExecutor(bus.executor_size)
        self.tasks = [asyncio.create_task(self._consume(bus._queue(topic)))]
        if fanout_queue is not None:
            self.tasks.append(asyncio.create_task(self._consume(fanout_queue)))

    async def _consume(self, queue: asyncio.Queue[str]) -> None:
        while True:
            body = await queue.get()
            try:
                await self.executor.submit(self._handle, body)
            except asyncio.CancelledError:
                # Stopped while waiting for a handler slot: nothing ran, so the message
                # goes back for the next server, as RabbitMQ requeues unacked messages.
                queue.put_nowait(body)
                raise

    async def _handle(self, body: str) -> None:
        envelope = Envelope.model_validate_json(body)
        reply = await self.dispatcher.dispatch(envelope)
        if envelope.kind == "call" and envelope.reply_to:
            self.bus._deliver_reply(reply.to_json())

    async def stop(self) -> None:
        # Idempotent: a service may stop its consumer and later close the whole bus.
        if self not in self.bus._consumers:
            return
        self.bus._consumers.remove(self)
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.fanout_queue is not None:
            self.bus._fanout[self.topic].remove(self.fanout_queue)
        self.executor.cancel()
        await self.executor.drain()


class MemoryBus(Bus):
    """Competing consumers per topic; one private queue per server for fanout."""

    def __init__(self, call_timeout: float = 60.0, executor_size: int = 64):
        super().__init__(call_timeout, executor_size)
        self._queues: dict[str, asyncio.Queue[str]] = {}
        self._fanout: dict[str, list[asyncio.Queue[str]]] = defaultdict(list)
        self._pending: dict[str, asyncio.Future[str]] = {}
        self._consumers: list[_MemoryConsumer] = []

    def _queue(self, topic: str) -> asyncio.Queue[str]:
        queue = self._queues.get(topic)
        if queue is None:
            queue = self._queues[topic] = asyncio.Queue()
        return queue

    def _served_queue(self, envelope: Envelope) -> asyncio.Queue[str]:
        # Like RabbitMQ's mandatory publish: only serve() creates a topic's queue, and
        # it outlives its consumers, so a topic nobody ever served is an error at once.
        queue = self._queues.get(envelope.topic)
        if queue is None:
            raise MessageDeliveryFailure(
                f"cannot deliver the {envelope.kind} '{envelope.method}' to topic '{envelope.topic}':"
                " no service has ever consumed that topic on the in-memory bus"
                " (start it first, or check the topic/host name)"
            )
        return queue

    async def _send(self, envelope: Envelope) -> None:
        body = envelope.model_dump_json()
        if envelope.kind == "fanout":
            for queue in self._fanout.get(envelope.topic, []):
                queue.put_nowait(body)
        else:
            self._served_queue(envelope).put_nowait(body)

    async def _request(self, envelope: Envelope, timeout: float) -> Reply:
        envelope.reply_to = "memory"
        queue = self._served_queue(envelope)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[envelope.msg_id] = future
        try:
            queue.put_nowait(envelope.model_dump_json())
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that
            # arrives as the reply does, and a periodic task stopped then would run on forever.
            async with asyncio.timeout(timeout):
                body = await future
        except TimeoutError:
            raise MessagingTimeout(envelope.topic, envelope.method, timeout) from None
        finally:
            self._pending.pop(envelope.msg_id, None)
        return Reply.model_validate_json(body)

    def _deliver_reply(self, body: str) -> None:
        reply = Reply.model_validate_json(body)
        future = self._pending.get(reply.msg_id)
        if future is not None and not future.done():
            future.set_result(body)

    async def serve(self, topic: str, endpoint: object, *, fanout: bool = True) -> Consumer:
        fanout_queue: asyncio.Queue[str] | None = None
        if fanout:
            fanout_queue = asyncio.Queue()
            self._fanout[topic].append(fanout_queue)
        consumer = _MemoryConsumer(self, topic, Dispatcher(endpoint, self.foreground), fanout_queue)
        self._consumers.append(consumer)
        return consumer

    async def queue_depths(self) -> dict[str, int]:
        return {topic: queue.qsize() for topic, queue in self._queues.items()}

    async def close(self) -> None:
        for consumer in list(self._consumers):
            await consumer.stop()
        # An exception, not cancel(): a CancelledError would surface in a caller task
        # that nobody cancelled and make asyncio.timeout/TaskGroup misread it.
        for future in self._pending.values():
            if not future.done():
                future.set_exception(MessageDeliveryFailure(
                    "the in-memory bus closed while a call was waiting for its reply"
                ))
