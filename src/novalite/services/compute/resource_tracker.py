"""Report a host's capacity and traits to placement, only when something changed."""

from __future__ import annotations

import math
from typing import Any

from novalite.config import ComputeOptions
from novalite.context import RequestContext
from novalite.drivers.base import ComputeDriver, HostResources
from novalite.services.placement.client import PlacementClient


def inventory_from(resources: HostResources, options: ComputeOptions) -> dict[str, dict[str, Any]]:
    """VCPU, MEMORY_MB and DISK_GB with reserved amounts and allocation ratios from configuration."""
    inventory = {
        "VCPU": {"total": resources.vcpus, "reserved": min(options.reserved_host_cpus, resources.vcpus),
                 "min_unit": 1, "max_unit": resources.vcpus, "step_size": 1,
                 "allocation_ratio": options.cpu_allocation_ratio},
        "MEMORY_MB": {"total": resources.memory_mb,
                      "reserved": min(options.reserved_host_memory_mb, resources.memory_mb),
                      "min_unit": 1, "max_unit": resources.memory_mb, "step_size": 1,
                      "allocation_ratio": options.ram_allocation_ratio},
    }
    if resources.local_gb > 0:
        inventory["DISK_GB"] = {
            "total": resources.local_gb,
            "reserved": min(math.ceil(options.reserved_host_disk_mb / 1024), resources.local_gb),
            "min_unit": 1, "max_unit": resources.local_gb, "step_size": 1,
            "allocation_ratio": options.disk_allocation_ratio,
        }
    return inventory


# The namespaces a compute reports from its driver and its service status; traits outside
# them on its provider are an operator's (CUSTOM_*, STORAGE_DISK_SSD...) and are kept, as in Nova.
COMPUTE_OWNED_TRAITS = ("HW_", "COMPUTE_")


class ResourceTracker:
    def __init__(self, placement: PlacementClient, driver: ComputeDriver, options: ComputeOptions):
        self.placement, self.driver, self.options = placement, driver, options
        self.provider_uuid: str | None = None
        self._last_inventory: dict[str, dict[str, Any]] | None = None
        self._last_traits: list[str] | None = None
        self.disabled = False

    async def report(self, ctx: RequestContext, provider_uuid: str, resources: HostResources) -> None:
        if self.provider_uuid != provider_uuid:
            await self.placement.ensure_resource_provider(ctx, provider_uuid, resources.hypervisor_hostname)
            self.provider_uuid = provider_uuid
        inventory = inventory_from(resources, self.options)
        if inventory != self._last_inventory:
            await self.placement.set_inventory(ctx, provider_uuid, inventory)
            self._last_inventory = inventory
        traits = sorted(set(resources.traits) | ({"COMPUTE_STATUS_DISABLED"} if self.disabled else set()))
        if traits != self._last_traits:
            await self.placement.set_traits(ctx, provider_uuid, traits, managed=COMPUTE_OWNED_TRAITS)
            self._last_traits = traits
