"""What the scheduler knows about one candidate host while it decides."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Sequence

from novalite.records import FlavorRecord


@dataclass(frozen=True)
class AggregateInfo:
    """A host aggregate as filters and weighers see it (loaded from the API database)."""

    uuid: str
    name: str
    hosts: frozenset[str]
    metadata: dict[str, str]

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get("availability_zone")


@dataclass(slots=True)
class HostState:
    uuid: str                     # compute node uuid == root resource provider uuid
    host: str
    nodename: str
    cell_uuid: str
    service_disabled: bool = False
    disabled_reason: str | None = None
    forced_down: bool = False
    last_seen_up: dt.datetime | None = None
    hypervisor_type: str = ""
    hypervisor_version: int = 0
    cpu_info: dict[str, Any] = field(default_factory=dict)
    num_instances: int = 0
    num_io_ops: int = 0           # instances building, resizing, migrating... (Nova's io_workload)
    failed_builds: int = 0
    image_refs: dict[str, int] = field(default_factory=dict)   # image id -> instances using it here
    aggregates: Sequence[AggregateInfo] = ()
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

    def aggregate_metadata(self, key: str) -> set[str]:
        """Every value `key` has in this host's aggregates (Nova's aggregate_values_from_key)."""
        return {agg.metadata[key] for agg in self.aggregates if key in agg.metadata}

    def consume(self, flavor: FlavorRecord, image_ref: str | None = None) -> None:
        """Account for an instance just placed here, so the next instance of the request sees it."""
        self.used["VCPU"] = self.used.get("VCPU", 0) + flavor.vcpus
        self.used["MEMORY_MB"] = self.used.get("MEMORY_MB", 0) + flavor.memory_mb
        self.used["DISK_GB"] = self.used.get("DISK_GB", 0) + flavor.disk_gb
        self.num_instances += 1
        self.num_io_ops += 1
        if image_ref:  # a new dict: the old one may be shared with other hosts of the decision
            self.image_refs = {**self.image_refs, image_ref: self.image_refs.get(image_ref, 0) + 1}
