"""The service catalog every token carries: where compute, placement, image and identity live."""

from __future__ import annotations

import uuid
from typing import Any

# (type, name, path under the base URL). Compute is versioned: clients read the
# microversion range from that URL, as they do from Nova's catalog entry.
SERVICES = (
    ("compute", "nova", "/compute/v2.1"),
    ("placement", "placement", "/placement"),
    ("image", "glance", "/image"),
    ("identity", "keystone", "/identity"),
)
INTERFACES = ("public", "internal", "admin")


def _stable_id(*parts: str) -> str:
    # The same ids on every call and every worker, without a table to keep them in.
    return uuid.uuid5(uuid.NAMESPACE_URL, "novalite:" + ":".join(parts)).hex


def catalog(base_url: str, region: str) -> list[dict[str, Any]]:
    base = base_url.rstrip("/")
    entries = []
    for service_type, name, path in SERVICES:
        endpoints = [
            {"id": _stable_id(service_type, interface), "interface": interface, "region": region,
             "region_id": region, "url": base + path}
            for interface in INTERFACES
        ]
        entries.append({"id": _stable_id(service_type), "type": service_type, "name": name,
                        "endpoints": endpoints})
    return entries
