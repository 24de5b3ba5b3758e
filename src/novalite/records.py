"""The records that cross the bus between API, conductor, scheduler and compute."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from novalite.drivers.base import FlavorSpec, ImageSpec, InstanceSpec


class FlavorRecord(BaseModel):
    """A flavor as embedded in an instance and a request spec (Nova keeps a copy per instance)."""

    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None
    extra_specs: dict[str, str] = Field(default_factory=dict)

    @property
    def disk_gb(self) -> int:
        """DISK_GB placement asks for: root + ephemeral + swap rounded up to GiB."""
        return self.root_gb + self.ephemeral_gb + (self.swap + 1023) // 1024


class ImageRecord(BaseModel):
    id: str
    name: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class RetryInfo(BaseModel):
    num_attempts: int = 0
    hosts: list[str] = Field(default_factory=list)
    failures: list[str] = Field(default_factory=list)


class RequestSpecRecord(BaseModel):
    """What the scheduler needs to place one boot request (one or more instances)."""

    instance_uuid: str
    project_id: str
    user_id: str
    flavor: FlavorRecord
    image: ImageRecord
    num_instances: int = 1
    availability_zone: str | None = None
    scheduler_hints: dict[str, Any] = Field(default_factory=dict)
    instance_group: dict[str, Any] | None = None
    ignore_hosts: list[str] = Field(default_factory=list)
    force_hosts: list[str] = Field(default_factory=list)
    retry: RetryInfo = Field(default_factory=RetryInfo)


class Selection(BaseModel):
    """One place the scheduler chose, with the allocation it claimed there (or may claim)."""

    service_host: str
    nodename: str
    compute_node_uuid: str
    cell_uuid: str
    allocation_request: dict[str, Any] | None = None


class ActionEvent(BaseModel):
    """An instance action event to record in the same transaction as a state change."""

    name: str
    phase: Literal["start", "finish"]
    result: str | None = None          # "Success" or "Error" when finishing
    details: str | None = None
    traceback: str | None = None


class InstanceRecord(BaseModel):
    """An instance as compute sees it; compute never reads the database itself."""

    uuid: str
    display_name: str
    hostname: str | None = None
    project_id: str
    user_id: str
    host: str | None = None
    node: str | None = None
    image_ref: str | None = None
    flavor: FlavorRecord
    vm_state: str
    task_state: str | None = None
    power_state: int = 0
    availability_zone: str | None = None
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    system_metadata: dict[str, Any] = Field(default_factory=dict)
    locked: bool = False
    launched_at: dt.datetime | None = None
    created_at: dt.datetime | None = None

    def to_spec(self, image: ImageSpec | None = None) -> InstanceSpec:
        flavor = self.flavor
        return InstanceSpec(
            uuid=self.uuid,
            name=self.display_name,
            hostname=self.hostname,
            flavor=FlavorSpec(
                name=flavor.name, vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
                root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb, swap=flavor.swap,
                extra_specs=flavor.extra_specs,
            ),
            image=image or ImageSpec(id=self.image_ref or "", properties=self.system_metadata.get("image", {})),
            key_name=self.key_name,
            key_data=self.key_data,
            user_data=self.user_data,
            metadata=self.metadata,
        )
