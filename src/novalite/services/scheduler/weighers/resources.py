"""RAMWeigher, CPUWeigher, DiskWeigher: free capacity as placement reports it."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers.base import BaseWeigher


def _free(hosts: list[HostState], resource_class: str) -> list[float]:
    return [float(h.capacity.get(resource_class, 0) - h.used.get(resource_class, 0)) for h in hosts]


class RAMWeigher(BaseWeigher):
    name = "RAMWeigher"
    option = "ram_weight_multiplier"

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        return _free(hosts, "MEMORY_MB")


class CPUWeigher(BaseWeigher):
    name = "CPUWeigher"
    option = "cpu_weight_multiplier"

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        return _free(hosts, "VCPU")


class DiskWeigher(BaseWeigher):
    name = "DiskWeigher"
    option = "disk_weight_multiplier"

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        return _free(hosts, "DISK_GB")
