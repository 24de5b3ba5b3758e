"""Filters driven by host aggregate metadata: extra specs, tenants, image properties, zones."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters import extra_specs_ops
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.host_state import HostState

EXTRA_SPECS_SCOPE = "aggregate_instance_extra_specs"


def host_zone(host: HostState, default_zone: str) -> str:
    zones = sorted(host.aggregate_metadata("availability_zone"))
    return zones[0] if zones else default_zone


@register
class AggregateInstanceExtraSpecsFilter(BaseHostFilter):
    name = "AggregateInstanceExtraSpecsFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return any(":" not in key or key.startswith(EXTRA_SPECS_SCOPE + ":") for key in ctx.spec.flavor.extra_specs)

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        for key, requirement in ctx.spec.flavor.extra_specs.items():
            scope = key.split(":")
            if len(scope) > 1:
                if scope[0] != EXTRA_SPECS_SCOPE:
                    continue
                key = scope[1]
            values = host.aggregate_metadata(key)
            if not values:
                return f"no aggregate of this host has metadata '{key}'"
            if not any(extra_specs_ops.match(v, requirement) for v in values):
                return f"aggregate metadata {key}={sorted(values)} does not match '{requirement}'"
        return None


@register
class AggregateMultiTenancyIsolation(BaseHostFilter):
    name = "AggregateMultiTenancyIsolation"

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        tenants: set[str] = set()
        for agg in host.aggregates:
            for key, value in agg.metadata.items():
                if key.startswith("filter_tenant_id"):
                    tenants.update(t.strip() for t in value.split(","))
        if tenants and ctx.spec.project_id not in tenants:
            return f"host is reserved for projects {sorted(tenants)}"
        return None


@register
class AggregateImagePropertiesIsolation(BaseHostFilter):
    name = "AggregateImagePropertiesIsolation"

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        namespace = ctx.options.aggregate_image_properties_isolation_namespace
        separator = ctx.options.aggregate_image_properties_isolation_separator
        props = ctx.spec.image.properties
        allowed: dict[str, set[str]] = {}
        for agg in host.aggregates:
            for key, value in agg.metadata.items():
                if namespace and not key.startswith(namespace + separator):
                    continue
                allowed.setdefault(key, set()).update(v.strip() for v in value.split(","))
        for key, values in allowed.items():
            if key in props and str(props[key]) not in values:
                return f"image property {key}={props[key]} is not among the aggregates' {sorted(values)}"
        return None


@register
class AvailabilityZoneFilter(BaseHostFilter):
    """Nova dropped it for the placement prefilter; kept for clouds that disable that prefilter."""

    name = "AvailabilityZoneFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return bool(ctx.spec.availability_zone)

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        wanted = ctx.spec.availability_zone
        if not wanted:
            return None
        zone = host_zone(host, ctx.default_availability_zone)
        if zone != wanted:
            return f"host is in availability zone {zone}, not {wanted}"
        return None
