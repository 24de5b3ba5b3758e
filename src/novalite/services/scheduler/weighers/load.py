"""IoOpsWeigher, NumInstancesWeigher, BuildFailureWeigher: how busy or unlucky a host is."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers.base import BaseWeigher


class IoOpsWeigher(BaseWeigher):
    name = "IoOpsWeigher"
    option = "io_ops_weight_multiplier"
    needs = frozenset({"io_ops"})

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        return [float(h.num_io_ops) for h in hosts]


class NumInstancesWeigher(BaseWeigher):
    name = "NumInstancesWeigher"
    option = "num_instances_weight_multiplier"
    needs = frozenset({"num_instances"})

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        return [float(h.num_instances) for h in hosts]


class BuildFailureWeigher(BaseWeigher):
    """Hosts whose recent builds failed sink (the huge default multiplier outweighs the rest)."""

    name = "BuildFailureWeigher"
    option = "build_failure_weight_multiplier"

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        return [-float(h.failed_builds) for h in hosts]
