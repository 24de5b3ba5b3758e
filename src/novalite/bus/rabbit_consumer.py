"""One server of a topic on RabbitMQ: its channel, queues and bounded handlers."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from aio_pika import ExchangeType
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection
from aio_pika.exceptions import AMQPError

from novalite.bus.base import BoundedExecutor, Consumer, Dispatcher, Envelope
from novalite.exceptions import MessageDeliveryFailure

if TYPE_CHECKING:
    from novalite.bus.rabbit import RabbitBus

LOG = logging.getLogger(__name__)


class RabbitConsumer(Consumer):
    """Consumes the topic's shared durable queue and, optionally, a private fanout queue.

    Delivery is at most once. A message is acknowledged when a handler slot is free
    and just before the handler runs, as oslo.messaging's RPC server does: a build,
    delete or reboot redelivered after a crash mid-handler would run twice on the
    hypervisor, while a lost one is bounded (the caller's timeout, the conductor's
    stuck-build sweep). Messages prefetched but still waiting for a slot stay
    unacknowledged, so they go back to the queue if this server dies or stops.
    """

    def __init__(self, bus: RabbitBus, topic: str, dispatcher: Dispatcher):
        self.bus, self.topic, self.dispatcher = bus, topic, dispatcher
        self.executor = BoundedExecutor(bus.executor_size)
        self.channel: AbstractRobustChannel | None = None

    async def start(
        self, connection: AbstractRobustConnection, exchange_name: str, fanout_exchange: str | None
    ) -> None:
        channel = await connection.channel(publisher_confirms=False)
        self.channel = channel
        # The broker never has more unacknowledged messages out to this server than
        # it has handler slots, so the rest stay in the queue for its competitors.
        await channel.set_qos(prefetch_count=self.bus.executor_size)
        exchange = await channel.declare_exchange(exchange_name, ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(self.topic, durable=True)
        await queue.bind(exchange, routing_key=self.topic)
        await queue.consume(self._on_message)
        if fanout_exchange is not None:
            fanout = await channel.declare_exchange(fanout_exchange, ExchangeType.FANOUT, durable=True)
            private = await channel.declare_queue(
                f"{self.topic}_fanout_{uuid.uuid4().hex}", exclusive=True, auto_delete=True
            )
            await private.bind(fanout)
            await private.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # aio-pika runs this as its own task per delivery; waiting here for a slot
        # keeps the message unacknowledged until a handler can take it.
        await self.executor.submit(self._handle, message)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.model_validate_json(message.body)
        except ValueError:
            LOG.error("dropping a malformed message on topic %s", self.topic)
            await message.reject(requeue=False)
            return
        try:
            await message.ack()
        except AMQPError:
            # The channel died between delivery and now: the broker will redeliver
            # the message (here after reconnection, or to a competitor), so do not run it.
            LOG.warning("could not acknowledge %s.%s [%s]; left for redelivery",
                        self.topic, envelope.method, envelope.context.request_id)
            return
        reply = await self.dispatcher.dispatch(envelope)
        if envelope.kind == "call" and envelope.reply_to:
            try:
                await self.bus.send_reply(envelope.reply_to, reply)
            except (MessageDeliveryFailure, AMQPError, ConnectionError, TimeoutError) as exc:
                LOG.warning("could not reply to %s.%s [%s]: %s",
                            self.topic, envelope.method, envelope.context.request_id, exc)

    async def stop(self) -> None:
        channel, self.channel = self.channel, None
        if channel is None:
            return  # already stopped: a service may stop its consumer, then close the bus
        # Closing the channel cancels its consumers (even while disconnected, it keeps
        # the robust connection from restoring them); unacknowledged messages go back
        # to the queue and the private fanout queue is deleted with its consumer.
        try:
            await channel.close()
        except (AMQPError, ConnectionError) as exc:
            LOG.warning("closing the consumer channel of %s failed: %s", self.topic, exc)
        self.executor.cancel()
        await self.executor.drain()
        self.bus.forget(self)
