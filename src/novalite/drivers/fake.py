"""An in-memory hypervisor: the workhorse of tests and of scale simulations.

Capacity, spawn time and spawn failures come from configuration so tests and
benchmarks can shape thousands of hosts without a process each.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from novalite.config import FakeDriverOptions
from novalite.drivers.base import (
    IMAGE_TYPE_TRAITS,
    ComputeDriver,
    DriverError,
    FlavorSpec,
    HostResources,
    InstanceSpec,
    MigrationDiskInfo,
)
from novalite.states import PowerState


@dataclass
class FakeGuest:
    spec: InstanceSpec
    power_state: PowerState = PowerState.RUNNING
    console: list[str] = field(default_factory=list)


class FakeDriver(ComputeDriver):
    hypervisor_type = "fake"

    def __init__(self, host: str, options: FakeDriverOptions | None = None):
        super().__init__(host)
        self.options = options or FakeDriverOptions()
        self.guests: dict[str, FakeGuest] = {}
        # Guests kept on the source during a resize so a revert can restore them.
        self.resize_sources: dict[str, FakeGuest] = {}

    def _guest(self, instance: InstanceSpec) -> FakeGuest:
        guest = self.guests.get(instance.uuid)
        if guest is None:
            raise DriverError(f"instance {instance.uuid} is not on fake host {self.host}")
        return guest

    def _should_fail(self) -> bool:
        return self.options.fail_spawn or self.host in self.options.fail_spawn_hosts

    async def adopt(self, instance: InstanceSpec, power_state: PowerState) -> None:
        if instance.uuid not in self.guests:
            self.guests[instance.uuid] = FakeGuest(spec=instance, power_state=power_state)

    async def get_host_resources(self) -> HostResources:
        used_vcpus = sum(g.spec.flavor.vcpus for g in self.guests.values())
        used_mem = sum(g.spec.flavor.memory_mb for g in self.guests.values())
        used_disk = sum(g.spec.flavor.root_gb + g.spec.flavor.ephemeral_gb for g in self.guests.values())
        return HostResources(
            hypervisor_hostname=self.host,
            hypervisor_type=self.hypervisor_type,
            hypervisor_version=1000,
            vcpus=self.options.vcpus,
            memory_mb=self.options.memory_mb,
            local_gb=self.options.disk_gb,
            vcpus_used=used_vcpus,
            memory_mb_used=used_mem,
            local_gb_used=used_disk,
            cpu_info={"arch": "x86_64", "model": "fake", "vendor": "novalite",
                      "topology": {"sockets": 1, "cores": self.options.vcpus, "threads": 1}},
            traits=["HW_CPU_X86_SSE2", "HW_CPU_X86_AVX", "COMPUTE_NET_ATTACH_INTERFACE", *IMAGE_TYPE_TRAITS],
        )

    async def list_power_states(self) -> dict[str, PowerState]:
        return {uuid: g.power_state for uuid, g in self.guests.items()}

    async def spawn(self, instance: InstanceSpec) -> None:
        if self.options.spawn_delay:
            await asyncio.sleep(self.options.spawn_delay)
        if self._should_fail():
            raise DriverError(f"fake driver was told to fail spawns on host {self.host}")
        self.guests[instance.uuid] = FakeGuest(spec=instance, console=[f"{instance.name} booted\n"])

    async def destroy(self, instance: InstanceSpec) -> None:
        if self.options.destroy_delay:
            await asyncio.sleep(self.options.destroy_delay)
        self.guests.pop(instance.uuid, None)
        self.resize_sources.pop(instance.uuid, None)

    async def get_power_state(self, instance: InstanceSpec) -> PowerState:
        guest = self.guests.get(instance.uuid)
        return guest.power_state if guest else PowerState.NOSTATE

    async def reboot(self, instance: InstanceSpec, hard: bool) -> None:
        guest = self._guest(instance)
        guest.power_state = PowerState.RUNNING
        guest.console.append(f"{'hard' if hard else 'soft'} reboot\n")

    async def power_off(self, instance: InstanceSpec, timeout: float = 60.0) -> None:
        self._guest(instance).power_state = PowerState.SHUTDOWN

    async def power_on(self, instance: InstanceSpec) -> None:
        self._guest(instance).power_state = PowerState.RUNNING

    async def pause(self, instance: InstanceSpec) -> None:
        self._guest(instance).power_state = PowerState.PAUSED

    async def unpause(self, instance: InstanceSpec) -> None:
        self._guest(instance).power_state = PowerState.RUNNING

    async def suspend(self, instance: InstanceSpec) -> None:
        self._guest(instance).power_state = PowerState.SUSPENDED

    async def resume(self, instance: InstanceSpec) -> None:
        self._guest(instance).power_state = PowerState.RUNNING

    async def get_console_output(self, instance: InstanceSpec) -> str:
        return "".join(self._guest(instance).console)

    async def rebuild(self, instance: InstanceSpec) -> None:
        guest = self._guest(instance)
        guest.spec = instance
        guest.power_state = PowerState.RUNNING
        guest.console.append(f"rebuilt from image {instance.image.id}\n")

    async def migrate_disk_and_power_off(
        self, instance: InstanceSpec, dest_host: str, new_flavor: FlavorSpec
    ) -> MigrationDiskInfo:
        guest = self.guests.pop(instance.uuid, None) or FakeGuest(spec=instance)
        guest.power_state = PowerState.SHUTDOWN
        self.resize_sources[instance.uuid] = guest
        return MigrationDiskInfo(source_host=self.host, data={"console": guest.console})

    async def finish_migration(
        self, instance: InstanceSpec, disk_info: MigrationDiskInfo, power_on: bool
    ) -> None:
        if self._should_fail():
            raise DriverError(f"fake driver was told to fail spawns on host {self.host}")
        state = PowerState.RUNNING if power_on else PowerState.SHUTDOWN
        console = list(disk_info.data.get("console", []))
        self.guests[instance.uuid] = FakeGuest(spec=instance, power_state=state, console=console)

    async def confirm_migration(self, instance: InstanceSpec) -> None:
        self.resize_sources.pop(instance.uuid, None)

    async def finish_revert_migration(self, instance: InstanceSpec, power_on: bool) -> None:
        guest = self.resize_sources.pop(instance.uuid, None) or FakeGuest(spec=instance)
        guest.spec = instance
        guest.power_state = PowerState.RUNNING if power_on else PowerState.SHUTDOWN
        self.guests[instance.uuid] = guest
