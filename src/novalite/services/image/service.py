"""Image rules: who sees and changes which image, what a create or patch may set.

Glance's defaults: an image is visible to its owner, to everyone when public or community,
and to admins; only admins publish (`public`); readers only read; a protected image
cannot be deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from novalite.context import RequestContext
from novalite.services.image.db_models import Image
from novalite.services.image.errors import ImageError

DISK_FORMATS = {"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
CONTAINER_FORMATS = {"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
VISIBILITIES = {"public", "private", "shared", "community"}
READ_ONLY = {"id", "status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "created_at",
             "updated_at", "file", "self", "schema", "direct_url", "locations", "owner", "stores"}
CORE = {"name", "visibility", "protected", "os_hidden", "disk_format", "container_format", "min_disk", "min_ram",
        "tags"}
# Formats are fixed once data exists: the bytes were stored (and named) for them.
FIXED_WHEN_ACTIVE = {"disk_format", "container_format"}


@dataclass
class Caller:
    project_id: str | None
    is_admin: bool
    can_write: bool

    @classmethod
    def of(cls, ctx: RequestContext) -> "Caller":
        return cls(ctx.project_id, ctx.is_admin, ctx.is_admin or "member" in ctx.roles)


def visible(image: Image, who: Caller) -> bool:
    return who.is_admin or image.visibility in ("public", "community") or image.owner == who.project_id


async def get_visible(session: AsyncSession, image_id: str, who: Caller) -> Image:
    image = await session.get(Image, image_id)
    if image is None or not visible(image, who):
        raise ImageError(404, f"No image found with ID {image_id}")
    return image


def require_write(image: Image | None, who: Caller, action: str) -> None:
    if not who.can_write:
        raise ImageError(403, f"You are not authorized to {action} images: it needs the member role.")
    if image is not None and not who.is_admin and image.owner != who.project_id:
        raise ImageError(403, f"You are not permitted to {action} image {image.id}: it belongs to another project.")


def set_attribute(image: Image, name: str, value: Any, who: Caller) -> None:
    """Apply one attribute of a create or a patch, with Glance's checks."""
    if name in READ_ONLY:
        raise ImageError(403, f"Attribute '{name}' is read-only.")
    if name in FIXED_WHEN_ACTIVE and image.status not in ("queued",):
        raise ImageError(403, f"Attribute '{name}' can only be changed while the image has no data (queued).")
    if name == "name":
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise ImageError(400, "Invalid value for name: a string of at most 255 characters.")
    elif name == "visibility":
        if value not in VISIBILITIES:
            raise ImageError(400, f"Invalid visibility value: {value!r}; use one of {', '.join(sorted(VISIBILITIES))}.")
        if value == "public" and not who.is_admin:
            raise ImageError(403, "You are not authorized to publicize images: only an admin may.")
    elif name in ("protected", "os_hidden"):
        if not isinstance(value, bool):
            raise ImageError(400, f"Invalid value for {name}: true or false.")
    elif name == "disk_format":
        if value is not None and value not in DISK_FORMATS:
            raise ImageError(400, f"Invalid disk format '{value}': use one of {', '.join(sorted(DISK_FORMATS))}.")
    elif name == "container_format":
        if value is not None and value not in CONTAINER_FORMATS:
            raise ImageError(400, f"Invalid container format '{value}': use one of "
                                  f"{', '.join(sorted(CONTAINER_FORMATS))}.")
    elif name in ("min_disk", "min_ram"):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
            raise ImageError(400, f"Invalid value for {name}: a non-negative integer.")
    elif name == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) and 0 < len(t) <= 255 for t in value):
            raise ImageError(400, "Invalid value for tags: a list of strings of 1 to 255 characters.")
        value = list(dict.fromkeys(value))
    else:
        if not isinstance(value, str) or len(name) > 255 or len(value) > 65535:
            raise ImageError(400, f"Invalid value for property '{name}': extra properties are strings.")
        image.properties = {**(image.properties or {}), name: value}
        return
    setattr(image, name, value)


def remove_attribute(image: Image, name: str) -> None:
    if name in READ_ONLY or name in CORE:
        raise ImageError(403, f"Attribute '{name}' cannot be removed.")
    if name not in (image.properties or {}):
        raise ImageError(409, f"Property {name} does not exist.")
    image.properties = {k: v for k, v in image.properties.items() if k != name}


def new_image(body: dict[str, Any], who: Caller) -> Image:
    image_id = body.pop("id", None) or str(uuid.uuid4())
    try:
        image_id = str(uuid.UUID(str(image_id)))
    except ValueError:
        raise ImageError(400, f"Invalid image id {image_id!r}: a UUID.") from None
    image = Image(id=image_id, name=None, status="queued", visibility="shared", owner=who.project_id,
                  protected=False, os_hidden=False, min_disk=0, min_ram=0, properties={}, tags=[])
    for name, value in body.items():
        set_attribute(image, name, value, who)
    return image


def boot_properties(image: Image) -> dict[str, Any]:
    """What an instance keeps of its image (request spec, system_metadata, the driver's sidecar)."""
    return {**(image.properties or {}), "disk_format": image.disk_format,
            "container_format": image.container_format, "min_disk": image.min_disk, "min_ram": image.min_ram,
            "size": image.size, "checksum": image.checksum}

