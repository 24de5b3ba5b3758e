"""ComputeCapabilitiesFilter: flavor extra specs (unscoped or `capabilities:`) against the host."""

from __future__ import annotations

from typing import Any

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters import extra_specs_ops
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState


def host_capabilities(host: HostState) -> dict[str, Any]:
    """The attributes an extra spec may name, as Nova exposes its HostState's."""
    return {
        "hypervisor_type": host.hypervisor_type, "hypervisor_version": host.hypervisor_version,
        "hypervisor_hostname": host.nodename, "host": host.host, "cpu_info": host.cpu_info,
        "free_ram_mb": host.free_ram_mb, "free_disk_mb": host.free_disk_gb * 1024,
        "vcpus_total": host.capacity.get("VCPU", 0), "vcpus_used": host.used.get("VCPU", 0),
        "total_usable_ram_mb": host.capacity.get("MEMORY_MB", 0), "num_instances": host.num_instances,
        "num_io_ops": host.num_io_ops,
    }


def _lookup(caps: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    value: Any = caps
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


@register
class ComputeCapabilitiesFilter(BaseHostFilter):
    name = "ComputeCapabilitiesFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return any(":" not in key or key.startswith("capabilities:") for key in ctx.spec.flavor.extra_specs)

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        caps: dict[str, Any] | None = None
        for key, requirement in ctx.spec.flavor.extra_specs.items():
            scope = key.split(":")
            if len(scope) > 1:
                if scope[0] != "capabilities":
                    continue  # another filter's or placement's key (hw:, trait:, resources:, ...)
                scope = scope[1:]
            caps = caps if caps is not None else host_capabilities(host)
            found, value = _lookup(caps, scope)
            if not found:
                return f"host has no capability '{key}'"
            if not extra_specs_ops.match(value, requirement):
                return f"capability '{key}' is {value!r}, flavor wants '{requirement}'"
        return None
