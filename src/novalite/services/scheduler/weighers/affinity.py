"""ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher, ImagePropertiesWeigher."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers.base import BaseWeigher


class ServerGroupSoftAffinityWeigher(BaseWeigher):
    name = "ServerGroupSoftAffinityWeigher"
    option = "soft_affinity_weight_multiplier"

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        group = ctx.group
        if group is None or group.policy != "soft-affinity":
            return 0.0
        return float(group.members_on.get(host.uuid, 0))


class ServerGroupSoftAntiAffinityWeigher(BaseWeigher):
    name = "ServerGroupSoftAntiAffinityWeigher"
    option = "soft_anti_affinity_weight_multiplier"

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        group = ctx.group
        if group is None or group.policy != "soft-anti-affinity":
            return 0.0
        return -float(group.members_on.get(host.uuid, 0))


class ImagePropertiesWeigher(BaseWeigher):
    """Prefers hosts already running instances of the requested image (cache-warm hosts)."""

    name = "ImagePropertiesWeigher"
    option = "image_props_weight_multiplier"
    needs = frozenset({"image_refs"})

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return float(host.image_refs.get(ctx.spec.image.id, 0))
