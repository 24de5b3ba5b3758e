"""NumInstancesFilter and IoOpsFilter, with their per-aggregate variants."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState


def aggregate_limit(host: HostState, key: str, default: int) -> int:
    """The smallest integer value of `key` in the host's aggregates (Nova's choice), else `default`."""
    values = []
    for text in host.aggregate_metadata(key):
        try:
            values.append(int(text))
        except ValueError:
            continue  # a typo in aggregate metadata must not stop scheduling
    return min(values) if values else default


@register
class NumInstancesFilter(BaseHostFilter):
    name = "NumInstancesFilter"
    needs = frozenset({"num_instances"})

    def limit(self, host: HostState, ctx: SchedulingContext) -> int:
        return ctx.options.max_instances_per_host

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        limit = self.limit(host, ctx)
        if host.num_instances >= limit:
            return f"{host.num_instances} instances, max_instances_per_host is {limit}"
        return None


@register
class AggregateNumInstancesFilter(NumInstancesFilter):
    name = "AggregateNumInstancesFilter"

    def limit(self, host: HostState, ctx: SchedulingContext) -> int:
        return aggregate_limit(host, "max_instances_per_host", ctx.options.max_instances_per_host)


@register
class IoOpsFilter(BaseHostFilter):
    name = "IoOpsFilter"
    needs = frozenset({"io_ops"})

    def limit(self, host: HostState, ctx: SchedulingContext) -> int:
        return ctx.options.max_io_ops_per_host

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        limit = self.limit(host, ctx)
        if host.num_io_ops >= limit:
            return f"{host.num_io_ops} I/O-heavy operations running, max_io_ops_per_host is {limit}"
        return None


@register
class AggregateIoOpsFilter(IoOpsFilter):
    name = "AggregateIoOpsFilter"

    def limit(self, host: HostState, ctx: SchedulingContext) -> int:
        return aggregate_limit(host, "max_io_ops_per_host", ctx.options.max_io_ops_per_host)
