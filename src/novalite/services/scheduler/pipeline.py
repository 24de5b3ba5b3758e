"""One scheduling pass, shared by real decisions and the dry run: placement, filters, weighers.

Every step records how many hosts it left and why it dropped each one, so a failure can say
which step emptied the list (the fault) and the dry run can say it per host.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from novalite.context import RequestContext
from novalite.records import RequestSpecRecord
from novalite.runtime import Runtime
from novalite.services.scheduler import placement_query
from novalite.services.scheduler.aggregates import load_aggregates
from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.diagnose import why_no_candidates
from novalite.services.scheduler.filters import BaseHostFilter, load_filters
from novalite.services.scheduler.host_manager import (
    HostCache,
    InstanceCounts,
    build_host_states,
    instance_counts,
    roots_of,
)
from novalite.services.scheduler.host_state import AggregateInfo, HostState
from novalite.services.scheduler.placement_query import QueryPlan
from novalite.services.scheduler.weighers import BaseWeigher, WeighedHost, load_weighers, weigh_hosts

NO_VALID_HOST = "No valid host was found."


@dataclass
class Candidates:
    """Placement's answer turned into HostStates, with what was asked."""

    plan: QueryPlan
    hosts: list[HostState]
    aggregates: list[AggregateInfo]
    empty_reason: str | None = None

    @property
    def step(self) -> str:
        return f"placement: {len(self.hosts)} hosts with {placement_query.describe(self.plan)}"


@dataclass
class FilterRun:
    passed: list[HostState]
    steps: list[str]
    rejected: dict[str, tuple[str, str]]    # host uuid -> (filter name, reason)


class Pipeline:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        options = runtime.settings.scheduler
        self.filters: list[BaseHostFilter] = load_filters(options.enabled_filters)
        self.weighers: list[BaseWeigher] = load_weighers(options.weight_classes)
        self.cache = HostCache(runtime.require_cells(), options.host_state_refresh_interval)
        self.failed_builds: dict[str, int] = defaultdict(int)

    def context(self, spec: RequestSpecRecord) -> SchedulingContext:
        settings = self.runtime.settings
        return SchedulingContext(spec=spec, options=settings.scheduler,
                                 service_down_time=settings.service.service_down_time,
                                 default_availability_zone=settings.api.default_availability_zone)

    async def candidates(self, ctx: RequestContext, spec: RequestSpecRecord, explain: bool = True,
                         limit: int | None = None) -> Candidates:
        runtime = self.runtime
        aggregates = await load_aggregates(runtime.require_api_db())
        plan = placement_query.plan_for(spec, runtime.settings.scheduler, aggregates,
                                        runtime.settings.api.default_availability_zone)
        if limit is not None:
            plan.query.limit = limit
        if plan.impossible:
            return Candidates(plan, [], aggregates, empty_reason=plan.impossible)
        if spec.force_hosts:
            # Asked for by name (an admin's "zone:host", a migration's target): placement is
            # asked about that host's tree only, which may be outside its first answers.
            roots = await self.cache.node_uuids_of(spec.force_hosts)
            if not roots:
                return Candidates(plan, [], aggregates, empty_reason=(
                    f"the requested host {', '.join(spec.force_hosts)} is not a compute host"))
            if len(roots) == 1:
                for group in (plan.query.unsuffixed, *plan.query.granular.values()):
                    group.in_tree = roots[0]
        placement = runtime.require_placement()
        raw = await placement.get_allocation_candidates(ctx, plan.query)
        roots = roots_of(raw)
        if not roots:
            why = await why_no_candidates(plan, lambda q: placement.get_allocation_candidates(ctx, q)) \
                if explain else None
            return Candidates(plan, [], aggregates, empty_reason=why)
        nodes = await self.cache.nodes_for(roots)
        needs = self._needs(aggregates)
        counts = InstanceCounts({}, {}, {})
        if needs & {"num_instances", "io_ops", "image_refs"}:
            hosts_by_cell: dict[str, list[str]] = defaultdict(list)
            for node in nodes.values():
                hosts_by_cell[node.cell_uuid].append(node.host)
            counts = await instance_counts(runtime.require_cells(), hosts_by_cell, num="num_instances" in needs,
                                           io="io_ops" in needs, images="image_refs" in needs)
        hosts = build_host_states(roots, raw.get("provider_summaries", {}), nodes, counts, aggregates,
                                  self.failed_builds)
        # placement's answer is not kept: its provider summaries, some 5,000 objects, go now
        # rather than survive into an older GC generation during the claims
        return Candidates(plan, hosts, aggregates)

    def _needs(self, aggregates: list[AggregateInfo]) -> set[str]:
        needs: set[str] = set()
        for host_filter in self.filters:
            needs |= host_filter.needs
        options = self.runtime.settings.scheduler
        overridden = {k for agg in aggregates for k in agg.metadata}
        for weigher in self.weighers:
            if not weigher.option or getattr(options, weigher.option) != 0.0 or weigher.option in overridden:
                needs |= weigher.needs
        return needs

    def run_filters(self, hosts: list[HostState], sctx: SchedulingContext) -> FilterRun:
        remaining, steps, rejected = hosts, [], {}
        for host_filter in self.filters:
            if host_filter.applies(sctx):
                kept = []
                rejects = host_filter.rejects
                for host in remaining:
                    reason = rejects(host, sctx)
                    if reason is None:
                        kept.append(host)
                    else:
                        rejected[host.uuid] = (host_filter.name, reason)
                remaining = kept
            steps.append(f"{host_filter.name}: {len(remaining)}")
            if not remaining:  # later filters have nothing to say
                break
        return FilterRun(remaining, steps, rejected)

    def weigh(self, hosts: list[HostState], sctx: SchedulingContext) -> list[WeighedHost]:
        return weigh_hosts(hosts, self.weighers, sctx)


def filters_emptied(run: FilterRun, hosts: list[HostState], limit: int = 3) -> str:
    """The filter steps, plus a few reasons from the step that removed the last hosts."""
    text = "; ".join(run.steps)
    last = next((s.split(":")[0] for s in run.steps if s.endswith(": 0")), None)
    samples = [f"{h.host}: {run.rejected[h.uuid][1]}" for h in hosts
               if h.uuid in run.rejected and run.rejected[h.uuid][0] == last][:limit]
    if samples:
        text += f" ({last} rejected {'; '.join(samples)})"
    return text
