"""ComputeFilter: the compute service must be enabled and up."""

from __future__ import annotations

from novalite.db.types import utcnow
from novalite.services.scheduler.filters.base import BaseHostFilter, FilterContext, register
from novalite.services.scheduler.host_state import HostState


def service_is_up(host: HostState, service_down_time: float) -> bool:
    if host.forced_down or host.last_seen_up is None:
        return False
    return (utcnow() - host.last_seen_up).total_seconds() <= service_down_time


@register
class ComputeFilter(BaseHostFilter):
    name = "ComputeFilter"

    def host_passes(self, host: HostState, ctx: FilterContext) -> bool:
        return not host.service_disabled and service_is_up(host, ctx.service_down_time)

    def reason(self, host: HostState, ctx: FilterContext) -> str:
        if host.service_disabled:
            return f"compute service disabled ({host.disabled_reason or 'no reason given'})"
        return f"compute service is down (last heartbeat {host.last_seen_up})"
