"""An image as Glance renders it: core attributes, then extra properties at the top level."""

from __future__ import annotations

import datetime as dt
from typing import Any

from novalite.services.image.db_models import Image


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def image(i: Image) -> dict[str, Any]:
    body: dict[str, Any] = {**(i.properties or {})}
    body.update({
        "id": i.id, "name": i.name, "status": i.status, "visibility": i.visibility, "protected": i.protected,
        "os_hidden": i.os_hidden, "owner": i.owner, "disk_format": i.disk_format,
        "container_format": i.container_format, "min_disk": i.min_disk, "min_ram": i.min_ram, "size": i.size,
        "virtual_size": None, "checksum": i.checksum, "os_hash_algo": i.os_hash_algo,
        "os_hash_value": i.os_hash_value, "tags": list(i.tags or []), "created_at": _iso(i.created_at),
        "updated_at": _iso(i.updated_at), "self": f"/v2/images/{i.id}", "file": f"/v2/images/{i.id}/file",
        "schema": "/v2/schemas/image",
    })
    return body
