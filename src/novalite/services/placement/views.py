"""JSON shapes shared by the HTTP handlers and the in-process client."""

from __future__ import annotations

from typing import Any

from novalite.services.placement.microversion import Version
from novalite.services.placement.objects.allocations import ConsumerInfo
from novalite.services.placement.objects.providers import Provider


def provider(p: Provider, version: Version, prefix: str = "") -> dict[str, Any]:
    base = f"{prefix}/resource_providers/{p.uuid}"
    links = [{"rel": "self", "href": base},
             {"rel": "inventories", "href": base + "/inventories"},
             {"rel": "usages", "href": base + "/usages"}]
    for since, rel in (((1, 1), "aggregates"), ((1, 6), "traits"), ((1, 11), "allocations")):
        if version >= since:
            links.append({"rel": rel, "href": f"{base}/{rel}"})
    body: dict[str, Any] = {"uuid": p.uuid, "name": p.name, "generation": p.generation, "links": links}
    if version >= (1, 14):
        body["parent_provider_uuid"] = p.parent_uuid
        body["root_provider_uuid"] = p.root_uuid
    return body


def consumer_allocations(info: ConsumerInfo | None, version: Version) -> dict[str, Any]:
    body: dict[str, Any] = {"allocations": info.allocations if info else {}}
    if info is not None and version >= (1, 12):
        body["project_id"], body["user_id"] = info.project_id, info.user_id
        if version >= (1, 28):
            body["consumer_generation"] = info.generation
        if version >= (1, 38):
            body["consumer_type"] = info.consumer_type or "unknown"
    return body
