"""Whether a service is up: a recent heartbeat and not forced down."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from novalite.db.cell_models import Service
from novalite.db.types import utcnow


def service_is_up(service: Service, down_time: float) -> bool:
    if service.forced_down or service.last_seen_up is None:
        return False
    return (utcnow() - service.last_seen_up).total_seconds() <= down_time


def service_state(service: Service, down_time: float) -> str:
    return "up" if service_is_up(service, down_time) else "down"


async def compute_service(session: AsyncSession, host: str) -> Service | None:
    """The live `nova-compute` service record of `host`, in the cell `session` is on."""
    return await session.scalar(select(Service).where(
        Service.host == host, Service.binary == "nova-compute", Service.deleted == 0))


async def compute_is_up(session: AsyncSession, host: str, down_time: float) -> bool:
    service = await compute_service(session, host)
    return service is not None and service_is_up(service, down_time)
