"""What the scheduler knows about one candidate host while it decides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from novalite.records import FlavorRecord


@dataclass
class HostState:
    uuid: str                     # compute node uuid == root resource provider uuid
    host: str
    nodename: str
    cell_uuid: str
    service_disabled: bool = False
    disabled_reason: str | None = None
    forced_down: bool = False
    last_seen_up: dt.datetime | None = None
    num_instances: int = 0
    # capacity and usage per resource class from placement's provider summaries
    capacity: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    traits: list[str] = field(default_factory=list)
    allocation_requests: list[dict[str, Any]] = field(default_factory=list)

    def free(self, resource_class: str) -> int:
        return self.capacity.get(resource_class, 0) - self.used.get(resource_class, 0)

    @property
    def free_ram_mb(self) -> int:
        return self.free("MEMORY_MB")

    @property
    def free_vcpus(self) -> int:
        return self.free("VCPU")

    @property
    def free_disk_gb(self) -> int:
        return self.free("DISK_GB")

    def consume(self, flavor: FlavorRecord) -> None:
        """Account for an instance just placed here, so the next instance of the request sees it."""
        self.used["VCPU"] = self.used.get("VCPU", 0) + flavor.vcpus
        self.used["MEMORY_MB"] = self.used.get("MEMORY_MB", 0) + flavor.memory_mb
        self.used["DISK_GB"] = self.used.get("DISK_GB", 0) + flavor.disk_gb
        self.num_instances += 1
