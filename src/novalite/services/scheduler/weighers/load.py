"""IoOpsWeigher, NumInstancesWeigher, BuildFailureWeigher: how busy or unlucky a host is."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers.base import BaseWeigher


class IoOpsWeigher(BaseWeigher):
    name = "IoOpsWeigher"
    option = "io_ops_weight_multiplier"
    needs = frozenset({"io_ops"})

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return float(host.num_io_ops)


class NumInstancesWeigher(BaseWeigher):
    name = "NumInstancesWeigher"
    option = "num_instances_weight_multiplier"
    needs = frozenset({"num_instances"})

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return float(host.num_instances)


class BuildFailureWeigher(BaseWeigher):
    """Hosts whose recent builds failed sink (the huge default multiplier outweighs the rest)."""

    name = "BuildFailureWeigher"
    option = "build_failure_weight_multiplier"

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return -float(host.failed_builds)
