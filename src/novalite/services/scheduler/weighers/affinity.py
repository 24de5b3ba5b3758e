"""ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher, ImagePropertiesWeigher."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers.base import BaseWeigher


class ServerGroupSoftAffinityWeigher(BaseWeigher):
    name = "ServerGroupSoftAffinityWeigher"
    option = "soft_affinity_weight_multiplier"

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        group = ctx.group
        if group is None or group.policy != "soft-affinity":
            return [0.0] * len(hosts)
        return [float(group.members_on.get(h.uuid, 0)) for h in hosts]


class ServerGroupSoftAntiAffinityWeigher(BaseWeigher):
    name = "ServerGroupSoftAntiAffinityWeigher"
    option = "soft_anti_affinity_weight_multiplier"

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        group = ctx.group
        if group is None or group.policy != "soft-anti-affinity":
            return [0.0] * len(hosts)
        return [-float(group.members_on.get(h.uuid, 0)) for h in hosts]


class ImagePropertiesWeigher(BaseWeigher):
    """Prefers hosts already running instances of the requested image (cache-warm hosts)."""

    name = "ImagePropertiesWeigher"
    option = "image_props_weight_multiplier"
    needs = frozenset({"image_refs"})

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        image = ctx.spec.image.id
        return [float(h.image_refs.get(image, 0)) for h in hosts]
