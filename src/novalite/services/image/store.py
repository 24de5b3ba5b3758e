"""Image bytes on disk, laid out so the libvirt driver finds them by image id.

    <images>/<id>.qcow2|.raw|.img       disk images (by disk_format)
    <images>/<id>.kernel | .initramfs   aki / ari images (direct kernel boot)
    <images>/<id>.json                  sidecar: {"id", "name", "properties"}
    <images>/.incoming/<id>.part        an upload in progress (never seen by the driver)

This is the layout `novalite.drivers.libvirt.images` reads, so an uploaded image boots
without the driver asking the image API. Uploads are written to `.incoming`, hashed while
they stream, and renamed into place only when size and checksums agree: a failed upload
leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

SUFFIX_BY_FORMAT = {"qcow2": ".qcow2", "raw": ".raw", "aki": ".kernel", "ari": ".initramfs"}
OTHER_SUFFIX = ".img"  # iso, vmdk, vdi, ami...: the driver probes the format
SIDECAR = ".json"
HASH_ALGO = "sha512"


class UploadRejected(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


@dataclass
class Stored:
    path: Path
    size: int
    md5: str
    sha512: str
    sha256: str


@dataclass(frozen=True)
class LocalImage:
    """An image whose bytes are on this host: what a compute driver boots from."""

    id: str
    path: Path
    disk_format: str | None
    name: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def images_dir(data_dir: Path) -> Path:
    return data_dir / "images"


def data_path(root: Path, image_id: str, disk_format: str | None) -> Path:
    return root / f"{image_id}{SUFFIX_BY_FORMAT.get(disk_format or '', OTHER_SUFFIX)}"


async def receive(root: Path, image_id: str, disk_format: str | None, chunks: AsyncIterator[bytes],
                  expected_size: int | None, max_size: int, expected: dict[str, str]) -> Stored:
    """Stream an upload to its final place, or raise UploadRejected and keep nothing.

    `expected` maps "md5"/"sha256" to the digest the owner declared for the data.
    """
    incoming = root / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    part = incoming / f"{image_id}.part"
    md5, sha512, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha512(), hashlib.sha256()
    size = 0
    try:
        # Local-disk writes of request-sized chunks: short enough not to need a thread each.
        with open(part, "wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise UploadRejected(413, f"Image exceeds the storage quota: the limit is {max_size} bytes.")
                for digest in (md5, sha512, sha256):
                    digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if expected_size is not None and size != expected_size:
            raise UploadRejected(400, f"Image upload size mismatch: {size} bytes received, "
                                      f"{expected_size} announced; nothing was stored.")
        actual = {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}
        for algo, want in expected.items():
            if want.lower() != actual[algo]:
                raise UploadRejected(400, f"Image upload {algo} checksum mismatch: the data hashes to "
                                          f"{actual[algo]}, the image declares {want}; nothing was stored.")
        final = data_path(root, image_id, disk_format)
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Stored(path=final, size=size, md5=actual["md5"], sha512=sha512.hexdigest(), sha256=actual["sha256"])


def write_sidecar(root: Path, image_id: str, name: str | None, properties: dict[str, Any]) -> None:
    tmp = root / ".incoming" / f"{image_id}.json.tmp"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps({"id": image_id, "name": name, "properties": properties}, indent=1))
    os.replace(tmp, root / f"{image_id}{SIDECAR}")


def remove(root: Path, image_id: str) -> None:
    for suffix in (*SUFFIX_BY_FORMAT.values(), OTHER_SUFFIX, SIDECAR):
        (root / f"{image_id}{suffix}").unlink(missing_ok=True)


def find_local_image(data_dir: Path, image_id: str) -> LocalImage | None:
    """The file of an uploaded image and its properties, from the files alone (no database).

    For compute drivers: they run where the data directory is, not necessarily where the
    API database is. Returns None if the image has no data here.
    """
    root = images_dir(data_dir)
    if "/" in image_id or image_id.startswith("."):
        return None
    meta: dict[str, Any] = {}
    sidecar = root / f"{image_id}{SIDECAR}"
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text())
        except ValueError:
            meta = {}
    properties = dict(meta.get("properties") or {})
    for disk_format, suffix in (*SUFFIX_BY_FORMAT.items(), (None, OTHER_SUFFIX)):
        path = root / f"{image_id}{suffix}"
        if path.is_file():
            return LocalImage(id=image_id, path=path, disk_format=properties.get("disk_format", disk_format),
                              name=meta.get("name"), properties=properties)
    return None
