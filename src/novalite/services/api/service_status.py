"""Whether a service is up: a recent heartbeat and not forced down."""

from __future__ import annotations

from novalite.db.cell_models import Service
from novalite.db.types import utcnow


def service_is_up(service: Service, down_time: float) -> bool:
    if service.forced_down or service.last_seen_up is None:
        return False
    return (utcnow() - service.last_seen_up).total_seconds() <= down_time


def service_state(service: Service, down_time: float) -> str:
    return "up" if service_is_up(service, down_time) else "down"
