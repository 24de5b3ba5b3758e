"""Pick the transport from a transport URL."""

from __future__ import annotations

from novalite.bus.base import Bus



def create_bus(transport_url: str, call_timeout: float = 60.0, executor_size: int = 64) -> Bus:
    """memory:// gives the in-process bus; amqp:// gives RabbitMQ."""
    scheme = transport_url.split(":", 1)[0].lower()
    if scheme == "memory":
        from novalite.bus.memory import MemoryBus

        return MemoryBus(call_timeout, executor_size)
    if scheme in ("amqp", "amqps", "rabbit"):
        from novalite.bus.rabbit import RabbitBus

        return RabbitBus(transport_url, call_timeout, executor_size)
    raise ValueError(
        f"transport_url '{transport_url}' has an unknown scheme '{scheme}': use memory:// or amqp://"
    )
