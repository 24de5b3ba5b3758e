"""ServerGroupAffinityFilter and ServerGroupAntiAffinityFilter (the hard policies)."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState


@register
class ServerGroupAntiAffinityFilter(BaseHostFilter):
    name = "ServerGroupAntiAffinityFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return ctx.group is not None and ctx.group.policy == "anti-affinity"

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        group = ctx.group
        if group is None or group.policy != "anti-affinity":
            return None
        here = group.members_on.get(host.uuid, 0)
        if here >= group.max_server_per_host:
            return (f"{here} member(s) of anti-affinity group {group.name or group.uuid} already here "
                    f"(max_server_per_host {group.max_server_per_host})")
        return None


@register
class ServerGroupAffinityFilter(BaseHostFilter):
    name = "ServerGroupAffinityFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return ctx.group is not None and ctx.group.policy == "affinity" and bool(ctx.group.members_on)

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        group = ctx.group
        if group is None or group.policy != "affinity" or not group.members_on:
            return None  # the first member may go anywhere
        if host.uuid not in group.members_on:
            return f"members of affinity group {group.name or group.uuid} run on another host"
        return None
