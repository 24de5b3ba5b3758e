"""Turn a request spec into an allocation candidates query (Nova's request filters live here).

The prefilters move what placement can answer with SQL out of Python filters: disabled
computes (the COMPUTE_STATUS_DISABLED trait), availability zones and tenant-isolated
aggregates (member_of), image type support and isolated aggregates (traits, !member_of).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from novalite.config import SchedulerOptions
from novalite.records import RequestSpecRecord
from novalite.services.placement.client import CandidateQuery, RequestGroup
from novalite.services.scheduler.host_state import AggregateInfo

DISABLED_TRAIT = "COMPUTE_STATUS_DISABLED"
_GRANULAR = re.compile(r"^(resources|trait)([A-Za-z0-9_-]*):(.+)$")


@dataclass
class QueryPlan:
    query: CandidateQuery
    # member_of entries -> what they mean to a person, for the fault and the dry run
    labels: dict[str, str] = field(default_factory=dict)
    # set when a prefilter already knows no host can match
    impossible: str | None = None


def _groups_from_extra_specs(specs: dict[str, str], image_props: dict[str, object]) -> dict[str, RequestGroup]:
    groups: dict[str, RequestGroup] = {}
    entries = list(specs.items()) + [(k, str(v)) for k, v in image_props.items() if k.startswith("trait:")]
    for key, value in entries:
        match = _GRANULAR.match(key)
        if not match:
            continue
        kind, suffix, name = match.groups()
        group = groups.setdefault(suffix, RequestGroup())
        if kind == "resources":
            amount = int(value)
            if amount:
                group.resources[name] = amount
            else:
                group.resources.pop(name, None)
        elif value == "required":
            group.required.append(name)
        elif value == "forbidden":
            group.required.append(f"!{name}")
    return groups


def _zone_terms(plan: QueryPlan, zone: str, aggregates: list[AggregateInfo], default_zone: str) -> None:
    in_zone = sorted(a.uuid for a in aggregates if a.availability_zone == zone)
    if in_zone:
        term = "in:" + ",".join(in_zone)
        plan.labels[term] = f"availability zone {zone}"
    elif zone == default_zone:
        # Hosts of the default zone are those in no zone aggregate (an improvement on Nova,
        # which lets them match anything): forbid every zone aggregate.
        zoned = sorted(a.uuid for a in aggregates if a.availability_zone)
        if not zoned:
            return
        term = "!in:" + ",".join(zoned)
        plan.labels[term] = f"availability zone {zone} (outside every zone aggregate)"
    else:
        plan.impossible = f"availability zone {zone} has no hosts"
        return
    plan.query.unsuffixed.member_of.append(term)


def _tenant_terms(plan: QueryPlan, project_id: str, aggregates: list[AggregateInfo],
                  options: SchedulerOptions) -> None:
    mine = sorted(a.uuid for a in aggregates
                  if any(k.startswith("filter_tenant_id") and project_id in {t.strip() for t in v.split(",")}
                         for k, v in a.metadata.items()))
    if mine:
        term = "in:" + ",".join(mine)
        plan.labels[term] = f"aggregates of project {project_id}"
        plan.query.unsuffixed.member_of.append(term)
    elif options.placement_aggregate_required_for_tenants:
        plan.impossible = f"no aggregate is assigned to project {project_id} (placement_aggregate_required_for_tenants)"


def _isolated_terms(plan: QueryPlan, aggregates: list[AggregateInfo]) -> None:
    wanted = {t for g in [plan.query.unsuffixed, *plan.query.granular.values()] for t in g.required}
    keep_out = sorted(
        a.uuid for a in aggregates
        if any(k.startswith("trait:") and v == "required" and k[6:] not in wanted for k, v in a.metadata.items())
    )
    if keep_out:
        term = "!in:" + ",".join(keep_out)
        plan.labels[term] = "outside aggregates isolated by required traits"
        plan.query.unsuffixed.member_of.append(term)


def plan_for(spec: RequestSpecRecord, options: SchedulerOptions, aggregates: list[AggregateInfo],
             default_zone: str) -> QueryPlan:
    flavor = spec.flavor
    groups = _groups_from_extra_specs(flavor.extra_specs, spec.image.properties)
    unsuffixed = groups.pop("", RequestGroup())
    resources = {"VCPU": flavor.vcpus, "MEMORY_MB": flavor.memory_mb}
    if flavor.disk_gb:
        resources["DISK_GB"] = flavor.disk_gb
    resources.update(unsuffixed.resources)
    unsuffixed.resources = {rc: n for rc, n in resources.items() if n}
    for key, value in flavor.extra_specs.items():
        if key.startswith("resources:") and int(value) == 0:
            unsuffixed.resources.pop(key.split(":", 1)[1], None)
    unsuffixed.required.append(f"!{DISABLED_TRAIT}")
    disk_format = spec.image.properties.get("disk_format")
    if options.query_placement_for_image_type_support and disk_format:
        unsuffixed.required.append(f"COMPUTE_IMAGE_TYPE_{str(disk_format).upper()}")
    query = CandidateQuery(unsuffixed=unsuffixed, granular=groups, limit=options.max_placement_results,
                           group_policy=flavor.extra_specs.get("group_policy") or ("none" if groups else None))
    plan = QueryPlan(query=query)
    if spec.availability_zone and options.query_placement_for_availability_zone:
        _zone_terms(plan, spec.availability_zone.split(":", 1)[0], aggregates, default_zone)
    if options.limit_tenants_to_placement_aggregate:
        _tenant_terms(plan, spec.project_id, aggregates, options)
    if options.enable_isolated_aggregate_filtering:
        _isolated_terms(plan, aggregates)
    return plan


def describe_group(group: RequestGroup, labels: dict[str, str]) -> str:
    parts = [f"{rc}:{amount}" for rc, amount in group.resources.items()]
    for trait in group.required:
        parts.append(f"without trait {trait[1:]}" if trait.startswith("!") else f"trait {trait}")
    parts += [labels.get(m, f"member_of {m}") for m in group.member_of]
    return ", ".join(parts)


def describe(plan: QueryPlan) -> str:
    text = describe_group(plan.query.unsuffixed, plan.labels)
    for suffix, group in plan.query.granular.items():
        text += f"; group {suffix}: {describe_group(group, plan.labels)}"
    return text
