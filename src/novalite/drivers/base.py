"""The contract between the compute service and a hypervisor.

The compute service owns state, placement and the database (through the conductor);
a driver only makes the hypervisor do things and reports what it sees. Every method
is async; a driver that wraps a blocking library runs it in a thread.
"""

from __future__ import annotations

import abc
from typing import Any

from pydantic import BaseModel, Field

from novalite.states import PowerState


class DriverError(Exception):
    """The hypervisor refused or failed; the message is shown in the instance fault."""


class FlavorSpec(BaseModel):
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    extra_specs: dict[str, str] = Field(default_factory=dict)


class ImageSpec(BaseModel):
    id: str
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    # Set when the image service has the bytes locally (the libvirt driver reads them).
    file_path: str | None = None
    kernel_path: str | None = None
    ramdisk_path: str | None = None


class InstanceSpec(BaseModel):
    """What a driver needs to know about one instance."""

    uuid: str
    name: str
    hostname: str | None = None
    flavor: FlavorSpec
    image: ImageSpec
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


# The image formats both drivers boot from (libvirt lays a qcow2 overlay on either), as the
# traits the scheduler's image-type prefilter asks placement for.
IMAGE_TYPE_TRAITS = ["COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW"]


class HostResources(BaseModel):
    """A host's capacity and identity, as inventory for placement and a compute node record."""

    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int = 1
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    cpu_info: dict[str, Any] = Field(default_factory=dict)
    host_ip: str = "127.0.0.1"
    traits: list[str] = Field(default_factory=list)


class MigrationDiskInfo(BaseModel):
    """What the source host hands the destination during a cold migration or resize."""

    source_host: str
    data: dict[str, Any] = Field(default_factory=dict)


class ComputeDriver(abc.ABC):
    """A hypervisor. One instance of a driver serves one compute host."""

    hypervisor_type: str = "unknown"

    def __init__(self, host: str):
        self.host = host

    async def init_host(self) -> None:
        """Connect to the hypervisor; called once before any other method."""

    async def cleanup_host(self) -> None:
        """Disconnect; called once at shutdown."""

    async def adopt(self, instance: InstanceSpec, power_state: PowerState) -> None:
        """Called at start for each instance the database places on this host.

        Real hypervisors keep their guests across a novalite restart, so the default
        does nothing; a driver whose guests live in its own memory recreates them.
        """

    @abc.abstractmethod
    async def get_host_resources(self) -> HostResources: ...

    @abc.abstractmethod
    async def list_power_states(self) -> dict[str, PowerState]:
        """Power state of every instance the hypervisor knows, by instance uuid."""

    @abc.abstractmethod
    async def spawn(self, instance: InstanceSpec) -> None:
        """Create and start the guest; raise DriverError on failure, leaving nothing behind."""

    @abc.abstractmethod
    async def destroy(self, instance: InstanceSpec) -> None:
        """Remove the guest and its files; a guest that is already gone is not an error."""

    @abc.abstractmethod
    async def get_power_state(self, instance: InstanceSpec) -> PowerState: ...

    @abc.abstractmethod
    async def reboot(self, instance: InstanceSpec, hard: bool) -> None: ...

    @abc.abstractmethod
    async def power_off(self, instance: InstanceSpec, timeout: float = 60.0) -> None: ...

    @abc.abstractmethod
    async def power_on(self, instance: InstanceSpec) -> None: ...

    @abc.abstractmethod
    async def pause(self, instance: InstanceSpec) -> None: ...

    @abc.abstractmethod
    async def unpause(self, instance: InstanceSpec) -> None: ...

    @abc.abstractmethod
    async def suspend(self, instance: InstanceSpec) -> None: ...

    @abc.abstractmethod
    async def resume(self, instance: InstanceSpec) -> None: ...

    @abc.abstractmethod
    async def get_console_output(self, instance: InstanceSpec) -> str: ...

    async def rebuild(self, instance: InstanceSpec) -> None:
        """Re-create the guest from `instance.image`; by default destroy then spawn."""
        await self.destroy(instance)
        await self.spawn(instance)

    @abc.abstractmethod
    async def migrate_disk_and_power_off(
        self, instance: InstanceSpec, dest_host: str, new_flavor: FlavorSpec
    ) -> MigrationDiskInfo:
        """Source side of a resize/migration: stop the guest and hand over its disks."""

    @abc.abstractmethod
    async def finish_migration(
        self, instance: InstanceSpec, disk_info: MigrationDiskInfo, power_on: bool
    ) -> None:
        """Destination side: build the guest from the handed-over disks with `instance.flavor`."""

    @abc.abstractmethod
    async def confirm_migration(self, instance: InstanceSpec) -> None:
        """Source side after confirm: drop what was kept for a revert."""

    @abc.abstractmethod
    async def finish_revert_migration(self, instance: InstanceSpec, power_on: bool) -> None:
        """Source side after revert: bring the original guest back."""
