"""IsolatedHostsFilter: isolated images run only on isolated hosts (and, optionally, vice versa)."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState


@register
class IsolatedHostsFilter(BaseHostFilter):
    name = "IsolatedHostsFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return bool(ctx.options.isolated_images or ctx.options.isolated_hosts)

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        options = ctx.options
        if not options.isolated_images and not options.isolated_hosts:
            return None
        image_isolated = ctx.spec.image.id in options.isolated_images
        host_isolated = host.host in options.isolated_hosts
        if image_isolated and not host_isolated:
            return f"image {ctx.spec.image.id} is isolated and this host is not an isolated host"
        if host_isolated and not image_isolated and options.restrict_isolated_hosts_to_isolated_images:
            return "isolated host, and the image is not an isolated image"
        return None
