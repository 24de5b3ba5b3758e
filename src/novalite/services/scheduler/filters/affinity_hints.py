"""SameHostFilter and DifferentHostFilter: the `same_host` / `different_host` scheduler hints."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState


@register
class SameHostFilter(BaseHostFilter):
    name = "SameHostFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return ctx.same_host_nodes is not None

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        if ctx.same_host_nodes is None or host.uuid in ctx.same_host_nodes:
            return None
        return "none of the same_host servers run here"


@register
class DifferentHostFilter(BaseHostFilter):
    name = "DifferentHostFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return bool(ctx.different_host_nodes)

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        if host.uuid in ctx.different_host_nodes:
            return "a different_host server runs here"
        return None
