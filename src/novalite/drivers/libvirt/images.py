"""Finding an image's files and caching them for instances.

Until the image API lands, images live in a directory (`[libvirt] images_path`). One image
is a set of files sharing a stem; the stem is the image's name or its UUID:

    <stem>.qcow2 | <stem>.raw | <stem>.img    a disk image (format probed for .img)
    <stem>.kernel [+ <stem>.initramfs]        direct kernel boot
    <stem>.json                               optional sidecar: {"id": "<uuid>",
                                              "name": "...", "properties": {...}}

A sidecar lets an image be found by a UUID other than its stem and carries image
properties; `os_command_line` is the kernel command line, as in Glance. Nova's
`kernel_id` / `ramdisk_id` properties name other images in the directory whose
`.kernel` / `.initramfs` (or only file) boot a disk image directly.

An `ImageSpec` with `file_path` or `kernel_path` set (an image service that has the bytes
locally) is used as given and never looked up.

Disk images are copied once into `<instances_path>/_base/` (keyed by image id) and each
instance gets a qcow2 overlay on that copy, as Nova's image cache does: an image deleted
from the directory does not break the instances built from it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from novalite.drivers.base import DriverError, ImageSpec

DISK_SUFFIXES = (".qcow2", ".raw", ".img")
KERNEL_SUFFIX = ".kernel"
RAMDISK_SUFFIX = ".initramfs"
SIDECAR_SUFFIX = ".json"


@dataclass(frozen=True)
class BootSource:
    """What an instance boots from, resolved to files on this host."""

    image_id: str
    disk: Path | None = None
    disk_format: str | None = None  # None: probe it with qemu-img
    kernel: Path | None = None
    ramdisk: Path | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def cmdline(self) -> str | None:
        return self.properties.get("os_command_line")


@dataclass(frozen=True)
class _Entry:
    stem: Path
    properties: dict[str, Any]

    def first(self, *suffixes: str) -> Path | None:
        for suffix in suffixes:
            path = self.stem.with_name(self.stem.name + suffix)
            if path.is_file():
                return path
        return None


async def run(*argv: str) -> str:
    """Run a tool (qemu-img) without blocking the loop; its stderr becomes the error."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise DriverError(f"{argv[0]} {argv[1]} failed: {err.decode(errors='replace').strip()}")
    return out.decode()


async def probe_disk(path: Path, fmt: str | None = None) -> dict[str, Any]:
    argv = ["qemu-img", "info", "--output=json"]
    if fmt:
        argv += ["-f", fmt]
    return json.loads(await run(*argv, str(path)))


class ImageStore:
    def __init__(self, images_path: Path, cache_path: Path):
        self.images_path = images_path
        self.cache_path = cache_path
        # One copy into the cache per image at a time; concurrent spawns wait for it.
        self._locks: dict[str, asyncio.Lock] = {}

    # -- lookup (blocking: filesystem reads; callers run it in a thread) ----------------

    def _sidecars(self) -> list[tuple[Path, dict[str, Any]]]:
        found = []
        for path in sorted(self.images_path.glob("*" + SIDECAR_SUFFIX)):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # a broken sidecar hides only its own image
            found.append((path.with_suffix(""), data))
        return found

    def _find(self, key: str) -> _Entry | None:
        if not key or "/" in key or key.startswith("."):
            return None
        for stem, data in self._sidecars():
            if key in (stem.name, data.get("id"), data.get("name")):
                return _Entry(stem, dict(data.get("properties") or {}))
        stem = self.images_path / key
        entry = _Entry(stem, {})
        if entry.first(*DISK_SUFFIXES, KERNEL_SUFFIX):
            return entry
        return None

    def _file_of(self, image_id: str, suffix: str) -> Path:
        entry = self._find(image_id)
        path = entry and (entry.first(suffix) or entry.first(*DISK_SUFFIXES))
        if not path:
            raise DriverError(f"image {image_id} not found in {self.images_path}")
        return path

    def resolve(self, image: ImageSpec) -> BootSource:
        """The files `image` boots from; DriverError naming what was looked for if none."""
        if image.kernel_path or image.file_path:
            return BootSource(
                image_id=image.id,
                disk=Path(image.file_path) if image.file_path else None,
                disk_format=image.disk_format if image.disk_format in ("qcow2", "raw") else None,
                kernel=Path(image.kernel_path) if image.kernel_path else None,
                ramdisk=Path(image.ramdisk_path) if image.ramdisk_path else None,
                properties=dict(image.properties),
            )
        entry = self._find(image.id) or (self._find(image.name) if image.name else None)
        if entry is None:
            raise DriverError(
                f"image {image.name or image.id} not found in {self.images_path}: expected "
                f"<name-or-id>.qcow2/.raw/.img, <name-or-id>.kernel or a .json sidecar")
        props = {**entry.properties, **image.properties}
        disk = entry.first(*DISK_SUFFIXES)
        kernel = entry.first(KERNEL_SUFFIX)
        ramdisk = entry.first(RAMDISK_SUFFIX)
        if props.get("kernel_id"):
            kernel = self._file_of(props["kernel_id"], KERNEL_SUFFIX)
        if props.get("ramdisk_id"):
            ramdisk = self._file_of(props["ramdisk_id"], RAMDISK_SUFFIX)
        disk_format = None
        if disk is not None and disk.suffix in (".qcow2", ".raw"):
            disk_format = disk.suffix[1:]
        return BootSource(image_id=image.id, disk=disk, disk_format=disk_format,
                          kernel=kernel, ramdisk=ramdisk if kernel else None, properties=props)

    # -- cache --------------------------------------------------------------------------

    async def cached_disk(self, source: BootSource) -> tuple[Path, str, int]:
        """The cached copy of the image's disk: (path, format, virtual size in bytes)."""
        assert source.disk is not None
        name = hashlib.sha1(source.image_id.encode()).hexdigest()
        cached = self.cache_path / name
        async with self._locks.setdefault(name, asyncio.Lock()):
            if not cached.exists():
                await asyncio.to_thread(self.cache_path.mkdir, parents=True, exist_ok=True)
                partial = cached.with_name(name + ".part")
                await asyncio.to_thread(shutil.copyfile, source.disk, partial)
                await asyncio.to_thread(partial.rename, cached)
        # Probe the copy, never trust it: a "raw" image with a qcow2 header could otherwise
        # point QEMU at any file on the host as its backing file.
        info = await probe_disk(cached, source.disk_format)
        if info.get("backing-filename"):
            raise DriverError(f"image {source.image_id} has a backing file; refusing to use it")
        return cached, info["format"], int(info["virtual-size"])
