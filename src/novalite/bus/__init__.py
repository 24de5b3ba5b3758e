"""The RPC bus: cast, call and fanout by topic, over memory or RabbitMQ."""

from novalite.bus.base import Bus, Consumer, Envelope, Reply
from novalite.bus.factory import create_bus

__all__ = ["Bus", "Consumer", "Envelope", "Reply", "create_bus"]
