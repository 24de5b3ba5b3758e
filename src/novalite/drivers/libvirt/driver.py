"""A compute driver that runs real guests with QEMU/KVM through libvirt.

One instance's files live in `<instances_path>/<uuid>/`: `disk` (a qcow2 overlay on the
cached image, or a blank disk of the flavor's root size for a kernel-booted guest),
`kernel` and `ramdisk` (direct kernel boot), `disk.config` (the config drive: key pair,
user data, metadata; see `configdrive`), `console.log` (the serial console, written by
virtlogd) and `guest.json` (the GuestConfig the domain XML is generated from).
Where images come from: see `images`. Domains are persistent (defined, then started),
so a guest stopped behind our back is still listed, as SHUTDOWN.

Resize and cold migration keep the source's files in `<uuid>_resize/` until confirm (a
revert moves them back). The destination reads them from that path, so between two
hosts the instances path must be shared; on one host (or one libvirtd serving several
compute hosts, as in a lab) it always is.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
from pathlib import Path
from typing import Iterator

import libvirt

from novalite.config import Settings
from novalite.drivers.base import (
    ComputeDriver,
    DriverError,
    FlavorSpec,
    HostResources,
    InstanceSpec,
    MigrationDiskInfo,
)
from novalite.drivers.libvirt import configdrive, guest
from novalite.drivers.libvirt.config_xml import CONFIG_FILE, GuestConfig, domain_xml
from novalite.drivers.libvirt.console import CONSOLE_LOG, read_tail
from novalite.drivers.libvirt.host import Host
from novalite.drivers.libvirt.images import BootSource, ImageStore, probe_disk, run
from novalite.states import PowerState

LOG = logging.getLogger(__name__)

GIB = 1024**3
# A guest may miss the first power-button press (still booting, no ACPI handler yet);
# Nova presses it again every few seconds too.
SHUTDOWN_RETRY_INTERVAL = 5.0
POLL_INTERVAL = 0.25
RESIZE_SUFFIX = "_resize"


def _supports_direct_io(path: Path) -> bool:
    """cache='none' opens disks with O_DIRECT, which tmpfs and some overlays refuse."""
    probe = path / ".direct_io_probe"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | getattr(os, "O_DIRECT", 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return False
        raise
    os.close(fd)
    probe.unlink()
    return True


def _remove_tree(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass


class LibvirtDriver(ComputeDriver):
    hypervisor_type = "QEMU"

    def __init__(self, host: str, settings: Settings):
        super().__init__(host)
        options = settings.libvirt
        data_dir = settings.service.data_dir
        self.uri = options.connection_uri or "qemu:///system"
        self.virt_type = options.virt_type
        self.cpu_mode = options.cpu_mode
        self.shutdown_timeout = options.shutdown_timeout
        self.instances_path = Path(options.instances_path or data_dir / "instances").resolve()
        self.images = ImageStore(Path(options.images_path or data_dir / "images").resolve(),
                                 self.instances_path / "_base")
        self._libvirt = Host(self.uri)
        self._disk_cache = "none"

    # -- plumbing -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _failure(self, action: str, instance: InstanceSpec) -> Iterator[None]:
        """Turn libvirt's and the filesystem's errors into one message a person can act on."""
        try:
            yield
        except libvirt.libvirtError as exc:
            raise DriverError(f"Could not {action} instance {instance.uuid} on host {self.host}: "
                              f"{exc.get_error_message()}") from exc
        except OSError as exc:
            raise DriverError(f"Could not {action} instance {instance.uuid} on host {self.host}: "
                              f"{exc}") from exc

    def instance_dir(self, uuid: str) -> Path:
        return self.instances_path / uuid

    def resize_dir(self, uuid: str) -> Path:
        return self.instances_path / (uuid + RESIZE_SUFFIX)

    async def _domain(self, instance: InstanceSpec) -> libvirt.virDomain:
        dom = await asyncio.to_thread(self._libvirt.lookup, instance.uuid)
        if dom is None:
            raise DriverError(f"instance {instance.uuid} has no libvirt domain on host {self.host}")
        return dom

    # -- host -----------------------------------------------------------------------------

    async def init_host(self) -> None:
        await asyncio.to_thread(self._libvirt.connect)
        await asyncio.to_thread(lambda: self.instances_path.mkdir(parents=True, exist_ok=True))
        direct = await asyncio.to_thread(_supports_direct_io, self.instances_path)
        self._disk_cache = "none" if direct else "writeback"

    async def cleanup_host(self) -> None:
        await asyncio.to_thread(self._libvirt.close)

    async def get_host_resources(self) -> HostResources:
        def collect() -> HostResources:
            used_vcpus = used_mem = 0
            for _uuid, dom in self._libvirt.owned_domains(self.host):
                # info: [state, max memory KiB, memory KiB, vCPUs, CPU time]
                _state, max_kib, _kib, vcpus, _cpu = dom.info()
                used_vcpus += vcpus
                used_mem += max_kib // 1024
            return self._libvirt.resources(self.host, self.instances_path, used_vcpus, used_mem)

        try:
            return await asyncio.to_thread(collect)
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot read host resources from {self.uri}: "
                              f"{exc.get_error_message()}") from exc

    async def list_power_states(self) -> dict[str, PowerState]:
        def collect() -> dict[str, PowerState]:
            states = {}
            for uuid, dom in self._libvirt.owned_domains(self.host):
                try:
                    states[uuid] = guest.power_state(dom)
                except libvirt.libvirtError:
                    continue  # undefined between the listing and now: gone, not listed
            return states

        try:
            return await asyncio.to_thread(collect)
        except libvirt.libvirtError as exc:
            raise DriverError(f"cannot list guests on {self.uri}: "
                              f"{exc.get_error_message()}") from exc

    async def get_power_state(self, instance: InstanceSpec) -> PowerState:
        dom = await asyncio.to_thread(self._libvirt.lookup, instance.uuid)
        if dom is None:
            return PowerState.NOSTATE
        return await asyncio.to_thread(guest.power_state, dom)

    # -- spawn and destroy ----------------------------------------------------------------

    async def spawn(self, instance: InstanceSpec) -> None:
        if await asyncio.to_thread(self._libvirt.lookup, instance.uuid) is not None:
            raise DriverError(f"instance {instance.uuid} already has a domain on host {self.host}")
        directory = self.instance_dir(instance.uuid)
        try:
            with self._failure("spawn", instance):
                # Files without a domain are a spawn that died mid-way: nothing runs on them.
                await asyncio.to_thread(_remove_tree, directory)
                source = await asyncio.to_thread(self.images.resolve, instance.image)
                await asyncio.to_thread(lambda: directory.mkdir(parents=True))
                cfg = await self._create_files(instance, source, directory)
                await self._define_and_start(cfg, power_on=True)
        except BaseException:
            # Also on cancellation: a half-built guest must not outlive the request.
            await self._clean_up_failed(instance.uuid, directory)
            raise

    async def _create_files(self, instance: InstanceSpec, source: BootSource,
                            directory: Path) -> GuestConfig:
        flavor = instance.flavor
        disk: Path | None = directory / "disk"
        if source.disk is not None:
            base, fmt, virtual_size = await self.images.cached_disk(source)
            if flavor.root_gb and flavor.root_gb * GIB < virtual_size:
                raise DriverError(
                    f"flavor {flavor.name} has a {flavor.root_gb} GB root disk, smaller than "
                    f"image {source.image_id} ({virtual_size / GIB:.1f} GB)")
            size = [f"{flavor.root_gb}G"] if flavor.root_gb else []
            await run("qemu-img", "create", "-q", "-f", "qcow2", "-F", fmt, "-b", str(base),
                      str(disk), *size)
        elif flavor.root_gb:
            # A kernel-booted guest still gets the root disk its flavor promises, blank.
            await run("qemu-img", "create", "-q", "-f", "qcow2", str(disk), f"{flavor.root_gb}G")
        else:
            disk = None
        kernel = ramdisk = None
        if source.kernel is not None:
            # Copies, so the guest survives its image being replaced or deleted.
            kernel = directory / "kernel"
            await asyncio.to_thread(shutil.copyfile, source.kernel, kernel)
            if source.ramdisk is not None:
                ramdisk = directory / "ramdisk"
                await asyncio.to_thread(shutil.copyfile, source.ramdisk, ramdisk)
        config_drive = directory / configdrive.FILE_NAME
        await configdrive.build(instance, config_drive)
        cfg = GuestConfig(
            uuid=instance.uuid,
            display_name=instance.name,
            host=self.host,
            virt_type=self.virt_type,
            vcpus=flavor.vcpus,
            memory_mb=flavor.memory_mb,
            flavor_name=flavor.name,
            image_id=instance.image.id,
            console_log=str(directory / CONSOLE_LOG),
            cpu_mode=self.cpu_mode,
            disk=str(disk) if disk else None,
            disk_cache=self._disk_cache,
            kernel=str(kernel) if kernel else None,
            ramdisk=str(ramdisk) if ramdisk else None,
            cmdline=source.cmdline if kernel else None,
            config_drive=str(config_drive),
        )
        await asyncio.to_thread(cfg.save, directory)
        return cfg

    async def _define_and_start(self, cfg: GuestConfig, power_on: bool) -> None:
        xml = domain_xml(cfg)
        dom = await asyncio.to_thread(self._libvirt.define, xml)
        if power_on:
            await asyncio.to_thread(guest.start, dom)

    async def _remove(self, uuid: str, directory: Path) -> None:
        """Domain (stopped, undefined, managed save and NVRAM gone) and directory."""
        dom = await asyncio.to_thread(self._libvirt.lookup, uuid)
        if dom is not None:
            await asyncio.to_thread(guest.remove, dom)
        await asyncio.to_thread(_remove_tree, directory)

    async def _clean_up_failed(self, uuid: str, directory: Path) -> None:
        """Best effort: the error that made us clean up is the one the caller must see."""
        try:
            await self._remove(uuid, directory)
        except Exception:
            LOG.exception("could not clean up after the failed build of instance %s", uuid)

    async def destroy(self, instance: InstanceSpec) -> None:
        # The _resize copy stays: a revert needs it after the destination's destroy, and
        # confirm_migration removes it (deleting a resized server confirms first, as Nova).
        with self._failure("destroy", instance):
            await self._remove(instance.uuid, self.instance_dir(instance.uuid))

    # -- power ----------------------------------------------------------------------------

    async def _shutdown_cleanly(self, dom: libvirt.virDomain, timeout: float) -> bool:
        """Press the power button until the guest is off or `timeout` passes; True if off."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_press = loop.time()
        while loop.time() < deadline:
            if not await asyncio.to_thread(guest.is_active, dom):
                return True
            if loop.time() >= next_press:
                await asyncio.to_thread(guest.request_shutdown, dom)
                next_press = loop.time() + SHUTDOWN_RETRY_INTERVAL
            await asyncio.sleep(POLL_INTERVAL)
        return not await asyncio.to_thread(guest.is_active, dom)

    async def _stop(self, dom: libvirt.virDomain, timeout: float) -> None:
        if timeout > 0 and await self._shutdown_cleanly(dom, timeout):
            return
        await asyncio.to_thread(guest.hard_stop, dom)

    async def power_off(self, instance: InstanceSpec, timeout: float = 60.0) -> None:
        with self._failure("stop", instance):
            dom = await self._domain(instance)
            if await asyncio.to_thread(guest.is_active, dom):
                await self._stop(dom, timeout)
            # Off means off: a suspended guest would otherwise resume on the next start.
            await asyncio.to_thread(guest.drop_managed_save, dom)

    async def power_on(self, instance: InstanceSpec) -> None:
        with self._failure("start", instance):
            await asyncio.to_thread(guest.start, await self._domain(instance))

    async def reboot(self, instance: InstanceSpec, hard: bool) -> None:
        with self._failure("reboot", instance):
            dom = await self._domain(instance)
            state = await asyncio.to_thread(guest.power_state, dom)
            # As Nova: only a running guest can be asked to reboot; anything else is hard.
            if not hard and state == PowerState.RUNNING:
                if await self._shutdown_cleanly(dom, self.shutdown_timeout):
                    await asyncio.to_thread(guest.start, dom)
                    return
            await asyncio.to_thread(guest.hard_stop, dom)
            await asyncio.to_thread(guest.drop_managed_save, dom)
            await asyncio.to_thread(guest.start, dom)

    async def pause(self, instance: InstanceSpec) -> None:
        with self._failure("pause", instance):
            await asyncio.to_thread((await self._domain(instance)).suspend)

    async def unpause(self, instance: InstanceSpec) -> None:
        with self._failure("unpause", instance):
            await asyncio.to_thread((await self._domain(instance)).resume)

    async def suspend(self, instance: InstanceSpec) -> None:
        with self._failure("suspend", instance):
            # Memory to disk and the QEMU process gone: the host gets its RAM back.
            await asyncio.to_thread((await self._domain(instance)).managedSave, 0)

    async def resume(self, instance: InstanceSpec) -> None:
        with self._failure("resume", instance):
            await asyncio.to_thread(guest.start, await self._domain(instance))

    async def get_console_output(self, instance: InstanceSpec) -> str:
        directory = self.instance_dir(instance.uuid)
        if not await asyncio.to_thread(directory.is_dir):
            raise DriverError(f"instance {instance.uuid} has no files on host {self.host}")
        return await asyncio.to_thread(read_tail, directory / CONSOLE_LOG)

    # -- resize and cold migration --------------------------------------------------------

    async def migrate_disk_and_power_off(
        self, instance: InstanceSpec, dest_host: str, new_flavor: FlavorSpec
    ) -> MigrationDiskInfo:
        if new_flavor.root_gb < instance.flavor.root_gb:
            raise DriverError(f"cannot resize the root disk of instance {instance.uuid} down "
                              f"from {instance.flavor.root_gb} GB to {new_flavor.root_gb} GB")
        directory, kept = self.instance_dir(instance.uuid), self.resize_dir(instance.uuid)
        with self._failure("migrate", instance):
            dom = await self._domain(instance)
            if await asyncio.to_thread(guest.is_active, dom):
                await self._stop(dom, self.shutdown_timeout)
            # Undefined here, so the destination may define the same UUID (on one libvirtd
            # it must); guest.json in the kept directory is enough to define it again.
            await asyncio.to_thread(guest.remove, dom)
            await asyncio.to_thread(_remove_tree, kept)
            await asyncio.to_thread(directory.rename, kept)
        return MigrationDiskInfo(source_host=self.host, data={"resize_dir": str(kept)})

    async def finish_migration(
        self, instance: InstanceSpec, disk_info: MigrationDiskInfo, power_on: bool
    ) -> None:
        kept = Path(disk_info.data.get("resize_dir", ""))
        if not await asyncio.to_thread((kept / CONFIG_FILE).is_file):
            raise DriverError(
                f"instance {instance.uuid}: the disks kept by {disk_info.source_host} at {kept} "
                f"are not visible from {self.host}; migration between hosts needs a shared "
                "instances_path")
        directory = self.instance_dir(instance.uuid)
        try:
            with self._failure("finish the migration of", instance):
                await asyncio.to_thread(_remove_tree, directory)
                # A copy, not a move: the kept files must survive until confirm or revert.
                await asyncio.to_thread(shutil.copytree, kept, directory)
                saved = await asyncio.to_thread(GuestConfig.load, directory)
                old = saved.rebased(kept, directory)
                flavor = instance.flavor
                if old.disk and flavor.root_gb:
                    size = (await probe_disk(Path(old.disk), old.disk_format))["virtual-size"]
                    if flavor.root_gb * GIB > size:
                        await run("qemu-img", "resize", "-q", "-f", old.disk_format, old.disk,
                                  f"{flavor.root_gb}G")
                cfg = old.with_changes(host=self.host, vcpus=flavor.vcpus,
                                       memory_mb=flavor.memory_mb, flavor_name=flavor.name,
                                       display_name=instance.name, virt_type=self.virt_type,
                                       cpu_mode=self.cpu_mode, disk_cache=self._disk_cache)
                await asyncio.to_thread(cfg.save, directory)
                await self._define_and_start(cfg, power_on)
        except BaseException:
            await self._clean_up_failed(instance.uuid, directory)
            raise

    async def confirm_migration(self, instance: InstanceSpec) -> None:
        with self._failure("confirm the migration of", instance):
            await asyncio.to_thread(_remove_tree, self.resize_dir(instance.uuid))

    async def finish_revert_migration(self, instance: InstanceSpec, power_on: bool) -> None:
        kept, directory = self.resize_dir(instance.uuid), self.instance_dir(instance.uuid)
        with self._failure("revert the migration of", instance):
            if not await asyncio.to_thread((kept / CONFIG_FILE).is_file):
                raise DriverError(f"instance {instance.uuid}: nothing was kept at {kept} "
                                  "to revert to")
            # The destination's guest, when it shares this libvirtd or instances path and
            # its own destroy has not run (or failed), would hold the UUID and the path.
            await self._remove(instance.uuid, directory)
            await asyncio.to_thread(kept.rename, directory)
            cfg = await asyncio.to_thread(GuestConfig.load, directory)
            await self._define_and_start(cfg, power_on)
