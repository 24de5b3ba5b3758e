"""Turn a request spec into an allocation candidates query (Nova's request filters live here)."""

from __future__ import annotations

from novalite.records import RequestSpecRecord
from novalite.services.placement.client import CandidateQuery, RequestGroup


def query_for(spec: RequestSpecRecord, limit: int) -> CandidateQuery:
    flavor = spec.flavor
    resources = {"VCPU": flavor.vcpus, "MEMORY_MB": flavor.memory_mb}
    if flavor.disk_gb:
        resources["DISK_GB"] = flavor.disk_gb
    required: list[str] = []
    for key, value in flavor.extra_specs.items():
        if key.startswith("resources:"):
            rc = key.split(":", 1)[1]
            amount = int(value)
            if amount:
                resources[rc] = amount
            else:
                resources.pop(rc, None)
        elif key.startswith("trait:"):
            trait = key.split(":", 1)[1]
            if value == "required":
                required.append(trait)
            elif value == "forbidden":
                required.append(f"!{trait}")
    return CandidateQuery(unsuffixed=RequestGroup(resources=resources, required=required), limit=limit)


def describe(query: CandidateQuery) -> str:
    group = query.unsuffixed
    text = ", ".join(f"{rc}:{amount}" for rc, amount in group.resources.items())
    if group.required:
        text += f" and traits {', '.join(group.required)}"
    return text
