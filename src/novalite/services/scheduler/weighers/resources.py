"""RAMWeigher, CPUWeigher, DiskWeigher: free capacity as placement reports it."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers.base import BaseWeigher


class RAMWeigher(BaseWeigher):
    name = "RAMWeigher"
    option = "ram_weight_multiplier"

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return float(host.free_ram_mb)


class CPUWeigher(BaseWeigher):
    name = "CPUWeigher"
    option = "cpu_weight_multiplier"

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return float(host.free_vcpus)


class DiskWeigher(BaseWeigher):
    name = "DiskWeigher"
    option = "disk_weight_multiplier"

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return float(host.free_disk_gb)
