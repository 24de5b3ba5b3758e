"""ComputeFilter (the compute service must be enabled and up) and AllHostsFilter (a no-op)."""

from __future__ import annotations

import datetime as dt

from novalite.db.types import utcnow
from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState


def service_is_up(host: HostState, service_down_time: float, now: dt.datetime | None = None) -> bool:
    if host.forced_down or host.last_seen_up is None:
        return False
    return ((now or utcnow()) - host.last_seen_up).total_seconds() <= service_down_time


@register
class ComputeFilter(BaseHostFilter):
    name = "ComputeFilter"

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        if host.service_disabled:
            return f"compute service disabled ({host.disabled_reason or 'no reason given'})"
        if host.forced_down:
            return "compute service is forced down"
        if not service_is_up(host, ctx.service_down_time, ctx.now):
            return f"compute service is down (last heartbeat {host.last_seen_up})"
        return None


@register
class AllHostsFilter(BaseHostFilter):
    name = "AllHostsFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return False

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        return None
