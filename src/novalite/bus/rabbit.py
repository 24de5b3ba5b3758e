"""RabbitMQ transport (aio-pika) for the scaled-out shape.

Topology inside the virtual host named by the transport URL (one vhost per cell):

- topic exchange ``novalite``: one durable queue per topic (``conductor``,
  ``scheduler``, ``compute.<host>``), named after the topic and bound by it. Every
  server of a topic consumes the same queue, so they compete.
- fanout exchange ``novalite_fanout_<topic>``: one exclusive auto-delete queue per
  server, so each running server gets its own copy and nothing piles up for a
  server that has gone.
- replies: one exclusive queue per bus, matched to waiting calls by msg_id.

Choices:

- A cast or call to a topic that no server has ever consumed fails at the sender
  with MessageDeliveryFailure (mandatory publish, publisher confirms). Only
  servers declare topic queues; they are durable and outlive their consumers, so a
  cast to ``compute.<host>`` while that host restarts waits in its queue, while a
  typo or a never-registered host is an immediate error instead of a message that
  sits forever in a queue a sender invented. A fresh deployment must therefore
  start a topic's servers before its clients expect them.
- Casts are persistent (survive a broker restart in their durable queue); calls,
  replies and fanouts are transient: their reader waits in memory for them anyway.
- A call carries a TTL of its timeout, so a request nobody picked up before the
  caller gave up is dropped by the broker instead of running late.
- A call waiting for its reply when the connection drops fails at once with
  MessageDeliveryFailure: the exclusive reply queue died with the connection, so
  the reply could not arrive. Publishing during an outage waits for the robust
  connection to come back, bounded by the call timeout.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

import aio_pika
from aio_pika import DeliveryMode, ExchangeType, Message
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import (
    AMQPError,
    ChannelInvalidStateError,
    ChannelNotFoundEntity,
    DeliveryError,
    PublishError,
)
from yarl import URL

from novalite.bus.base import Bus, Consumer, Dispatcher, Envelope, Reply
from novalite.bus.rabbit_consumer import RabbitConsumer
from novalite.exceptions import MessageDeliveryFailure, MessagingTimeout

LOG = logging.getLogger(__name__)

EXCHANGE = "novalite"
JSON = "application/json"
# aio-pika waits 5 s between reconnection attempts by default; a cloud whose broker
# blipped should resume sooner. A reconnect_interval in the URL still wins.
RECONNECT_INTERVAL = 1.0
# Pause before retrying a publish the robust channel refused while it was being
# restored; the whole attempt stays bounded by the caller's timeout.
REPUBLISH_PAUSE = 0.1


def fanout_exchange_name(topic: str) -> str:
    return f"novalite_fanout_{topic}"


def amqp_url(transport_url: str) -> URL:
    """oslo-style rabbit:// becomes amqp://; the path names the vhost (one per cell)."""
    url = URL(transport_url)
    if url.scheme == "rabbit":
        url = url.with_scheme("amqp")
    if "reconnect_interval" not in url.query:
        url = url.update_query(reconnect_interval=RECONNECT_INTERVAL)
    return url


@dataclass
class _PendingCall:
    topic: str
    method: str
    future: asyncio.Future[Reply]
    # Only a request the broker confirmed can have a reply in the reply queue; one
    # still waiting to be sent just goes out after the reconnection.
    sent: bool = False


class RabbitBus(Bus):
    """cast/call/fanout over RabbitMQ with publisher confirms and robust reconnection."""

    def __init__(self, transport_url: str, call_timeout: float = 60.0, executor_size: int = 64):
        super().__init__(call_timeout, executor_size)
        self._url = amqp_url(transport_url)
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._fanout_exchanges: dict[str, AbstractExchange] = {}
        self._reply_queue = f"novalite_reply_{uuid.uuid4().hex}"
        self._pending: dict[str, _PendingCall] = {}
        self._topics: set[str] = set()
        self._consumers: set[RabbitConsumer] = set()
        self._start_lock = asyncio.Lock()
        # Set while every channel is open and restored. The publisher channel comes
        # back before the reply queue does, and a call sent in between would have its
        # reply dropped: sending waits for all of them.
        self._restored = asyncio.Event()
        self._closed = False

    @property
    def _where(self) -> str:
        """The broker and vhost, without credentials, for error messages."""
        return f"RabbitMQ {self._url.host}:{self._url.port} vhost '{self._url.path[1:] or '/'}'"

    async def start(self) -> None:
        if self._closed:
            raise MessageDeliveryFailure(f"the bus to {self._where} is closed")
        if self._connection is not None:
            return
        async with self._start_lock:
            if self._connection is not None:
                return
            try:
                connection = await aio_pika.connect_robust(self._url)
            except (AMQPError, OSError) as exc:
                raise MessageDeliveryFailure(f"cannot connect to {self._where}: {exc}") from exc
            try:
                await self._open(connection)
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
            self._restored.set()

    async def _open(self, connection: AbstractRobustConnection) -> None:
        connection.close_callbacks.add(self._on_connection_lost)
        connection.reconnect_callbacks.add(self._on_reconnected)
        # on_return_raises turns an unroutable mandatory publish into PublishError.
        publisher = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await publisher.declare_exchange(EXCHANGE, ExchangeType.TOPIC, durable=True)
        replies = await connection.channel(publisher_confirms=False)
        # Named by us, so the robust channel re-declares the same queue after a reconnect.
        reply_queue = await replies.declare_queue(self._reply_queue, exclusive=True, auto_delete=True)
        await reply_queue.consume(self._on_reply, no_ack=True)
        self._publisher = publisher

    # -- sending -----------------------------------------------------------

    async def _send(self, envelope: Envelope) -> None:
        await self.start()
        body = envelope.model_dump_json().encode()
        try:
            async with asyncio.timeout(self.call_timeout):
                if envelope.kind == "fanout":
                    exchange = await self._fanout_exchange(envelope.topic)
                    message = Message(body, content_type=JSON, delivery_mode=DeliveryMode.NOT_PERSISTENT)
                    # No server of the topic running means nobody to tell: not an error.
                    await self._publish(exchange, message, "", envelope, mandatory=False)
                    return
                message = Message(body, content_type=JSON, delivery_mode=DeliveryMode.PERSISTENT)
                await self._publish(self._topic_exchange, message, envelope.topic, envelope, mandatory=True)
        except TimeoutError:
            raise MessageDeliveryFailure(
                f"{self._where} did not confirm the {envelope.kind} '{envelope.method}' to topic "
                f"'{envelope.topic}' within {self.call_timeout:g}s (is the broker reachable?)"
            ) from None
        if envelope.kind == "cast":
            self._topics.add(envelope.topic)

    async def _request(self, envelope: Envelope, timeout: float) -> Reply:
        await self.start()
        envelope.reply_to = self._reply_queue
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        # Registered before publishing: the reply may arrive before the confirm does.
        pending = self._pending[envelope.msg_id] = _PendingCall(envelope.topic, envelope.method, future)
        message = Message(
            envelope.model_dump_json().encode(),
            content_type=JSON,
            delivery_mode=DeliveryMode.NOT_PERSISTENT,
            expiration=timeout,
        )
        try:
            async with asyncio.timeout(timeout):
                await self._publish(self._topic_exchange, message, envelope.topic, envelope, mandatory=True)
                pending.sent = True
                self._topics.add(envelope.topic)
                return await future
        except TimeoutError:
            raise MessagingTimeout(envelope.topic, envelope.method, timeout) from None
        finally:
            self._pending.pop(envelope.msg_id, None)

    async def send_reply(self, reply_to: str, reply: Reply) -> None:
        """Publish a call's reply; a caller that has gone away simply never reads it."""
        message = Message(reply.to_json().encode(), content_type=JSON, delivery_mode=DeliveryMode.NOT_PERSISTENT)
        assert self._publisher is not None
        async with asyncio.timeout(self.call_timeout):
            await self._publish_raw(self._publisher.default_exchange, message, reply_to, mandatory=False)

    @property
    def _topic_exchange(self) -> AbstractExchange:
        assert self._exchange is not None, "start() declares the exchange"
        return self._exchange

    async def _fanout_exchange(self, topic: str) -> AbstractExchange:
        # Publishing to an exchange that does not exist closes the channel, so the
        # sender declares it too (durable: it must not vanish between two fanouts).
        exchange = self._fanout_exchanges.get(topic)
        if exchange is None:
            assert self._publisher is not None
            try:
                exchange = await self._publisher.declare_exchange(
                    fanout_exchange_name(topic), ExchangeType.FANOUT, durable=True
                )
            except (AMQPError, ConnectionError) as exc:
                raise MessageDeliveryFailure(
                    f"cannot declare the fanout exchange of topic '{topic}' on {self._where}: {exc}"
                ) from exc
            self._fanout_exchanges[topic] = exchange
        return exchange

    async def _publish(
        self, exchange: AbstractExchange, message: Message, routing_key: str, envelope: Envelope,
        *, mandatory: bool,
    ) -> None:
        what = f"{envelope.kind} '{envelope.method}' to topic '{envelope.topic}'"
        try:
            await self._publish_raw(exchange, message, routing_key, mandatory=mandatory)
        except PublishError:
            raise MessageDeliveryFailure(
                f"cannot deliver the {what}: no service has ever consumed that topic on {self._where}"
                " (start it first, or check the topic/host name)"
            ) from None
        except DeliveryError as exc:
            raise MessageDeliveryFailure(f"{self._where} refused the {what}: {exc}") from exc
        except (AMQPError, ConnectionError) as exc:
            raise MessageDeliveryFailure(
                f"the connection to {self._where} failed while sending the {what}; it may or may"
                f" not have been delivered: {exc}"
            ) from exc

    async def _publish_raw(
        self, exchange: AbstractExchange, message: Message, routing_key: str, *, mandatory: bool
    ) -> None:
        while True:
            await self._restored.wait()
            if self._closed:
                raise MessageDeliveryFailure(f"the bus to {self._where} is closed")
            try:
                await exchange.publish(message, routing_key, mandatory=mandatory)
                return
            except ChannelInvalidStateError:
                # Refused before a byte was sent (the channel is being restored), so
                # sending again cannot duplicate the message.
                await asyncio.sleep(REPUBLISH_PAUSE)

    # -- receiving ---------------------------------------------------------

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        try:
            reply = Reply.model_validate_json(message.body)
        except ValueError:
            LOG.warning("dropping a malformed reply on %s", self._reply_queue)
            return
        pending = self._pending.get(reply.msg_id)
        if pending is not None and not pending.future.done():
            pending.future.set_result(reply)

    def _on_reconnected(self, _sender: object) -> None:
        self._restored.set()

    def _on_connection_lost(self, _sender: object, _exc: BaseException | None = None) -> None:
        self._restored.clear()
        # The exclusive reply queue dies with the connection, so no waiting call can
        # get its reply any more: tell the callers now rather than at their timeout.
        self._fail_pending(
            "the connection to {where} was lost while waiting for the reply to '{method}' on topic"
            " '{topic}'; the request may or may not have been handled"
        )

    def _fail_pending(self, template: str) -> None:
        """Fail the calls waiting for a reply; unsent ones fail (or go out) when sending."""
        for pending in self._pending.values():
            if pending.sent and not pending.future.done():
                pending.future.set_exception(MessageDeliveryFailure(
                    template.format(where=self._where, method=pending.method, topic=pending.topic)
                ))

    # -- serving -----------------------------------------------------------

    async def serve(self, topic: str, endpoint: object, *, fanout: bool = True) -> Consumer:
        await self.start()
        assert self._connection is not None
        consumer = RabbitConsumer(self, topic, Dispatcher(endpoint, self.foreground))
        await consumer.start(self._connection, EXCHANGE, fanout_exchange_name(topic) if fanout else None)
        self._consumers.add(consumer)
        self._topics.add(topic)
        return consumer

    def forget(self, consumer: RabbitConsumer) -> None:
        self._consumers.discard(consumer)

    def watch(self, topic: str) -> None:
        self._topics.add(topic)

    async def queue_depths(self) -> dict[str, int]:
        await self.start()
        try:
            async with asyncio.timeout(self.call_timeout):
                await self._restored.wait()
                return await self._passive_depths()
        except TimeoutError:
            raise MessageDeliveryFailure(
                f"{self._where} did not report queue depths within {self.call_timeout:g}s"
                " (is the broker reachable?)"
            ) from None
        except (AMQPError, ConnectionError) as exc:
            raise MessageDeliveryFailure(f"reading queue depths from {self._where} failed: {exc}") from exc

    async def _passive_depths(self) -> dict[str, int]:
        assert self._connection is not None
        depths: dict[str, int] = {}
        # Channels of its own: a passive declare of a vanished queue closes its channel.
        channel = await self._connection.channel(publisher_confirms=False)
        try:
            for topic in sorted(self._topics):
                try:
                    queue = await channel.declare_queue(topic, passive=True, robust=False)
                except ChannelNotFoundEntity:
                    # Deleted by an operator: nothing waits in it. Carry on with a fresh channel.
                    await channel.close()
                    channel = await self._connection.channel(publisher_confirms=False)
                    continue
                depths[topic] = queue.declaration_result.message_count or 0
        finally:
            await channel.close()
        return depths

    async def close(self) -> None:
        self._closed = True
        self._restored.set()  # senders waiting for a reconnection wake up and fail as closed
        consumers, self._consumers = self._consumers, set()
        for consumer in consumers:
            await consumer.stop()
        self._fail_pending("the bus to {where} closed while waiting for the reply to '{method}' on topic '{topic}'")
        if self._connection is not None:
            await self._connection.close()
