"""The scheduler's bus endpoint: pick a host (plus alternates) and claim it in placement."""

from __future__ import annotations

import itertools
import logging
import random
import time
from typing import Any

from novalite.context import RequestContext
from novalite.exceptions import NoValidHost
from novalite.observability.metrics import count_claim_conflict, observe_decision
from novalite.records import RequestSpecRecord, Selection
from novalite.runtime import Runtime
from novalite.services.placement.client import PlacementError
from novalite.services.scheduler import dry_run, groups
from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.pipeline import NO_VALID_HOST, Pipeline, filters_emptied

LOG = logging.getLogger(__name__)


class SchedulerManager:
    """Served on topic `scheduler`."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.pipeline = Pipeline(runtime)
        self.group_locks = groups.GroupLocks()

    async def select_destinations(self, ctx: RequestContext, spec: dict[str, Any],
                                  instance_uuids: list[str]) -> list[list[dict[str, Any]]]:
        started = time.perf_counter()
        request = RequestSpecRecord.model_validate(spec)
        found = await self.pipeline.candidates(ctx, request)
        if not found.hosts:
            raise NoValidHost(f"{NO_VALID_HOST} {found.step}; {found.empty_reason or 'no compute node matched'}.")
        steps = [found.step]
        hosts = found.hosts
        if request.force_hosts:
            hosts = [h for h in hosts if h.host in request.force_hosts]
            steps.append(f"the requested host {', '.join(request.force_hosts)}: {len(hosts)}")
        excluded = set(request.retry.hosts) | set(request.ignore_hosts)
        if excluded:
            hosts = [h for h in hosts if h.host not in excluded]
            steps.append(f"excluding hosts already tried or ignored ({', '.join(sorted(excluded))}): {len(hosts)}")
        group_uuid = groups.group_uuid_of(request)
        async with self.group_locks.hold(group_uuid):
            sctx = await self._context(ctx, request, instance_uuids, group_uuid)
            placement = self.runtime.require_placement()
            claimed: list[str] = []
            results: list[list[dict[str, Any]]] = []
            try:
                for uuid in instance_uuids:
                    chosen = await self._place_one(ctx, uuid, sctx, hosts, list(steps), group_uuid)
                    claimed.append(uuid)
                    results.append([s.model_dump(mode="json") for s in chosen])
            except NoValidHost:
                for uuid in claimed:  # all or nothing for a multi-create, as in Nova
                    await placement.delete_allocations(ctx, uuid)
                raise
        observe_decision(time.perf_counter() - started)
        return results

    async def _context(self, ctx: RequestContext, request: RequestSpecRecord, instance_uuids: list[str],
                       group_uuid: str | None) -> SchedulingContext:
        sctx = self.pipeline.context(request)
        placement, nodes = self.runtime.require_placement(), self.pipeline.cache.nodes
        if group_uuid:
            loaded = await groups.load_group(ctx, self.runtime.require_api_db(), placement, group_uuid,
                                             set(instance_uuids), nodes)
            sctx.group = loaded[0] if loaded else None
        hints = request.scheduler_hints
        if "same_host" in hints:
            sctx.same_host_nodes = set(await groups.nodes_of(ctx, placement, groups.hint_list(hints["same_host"]),
                                                             nodes))
        if "different_host" in hints:
            sctx.different_host_nodes = set(await groups.nodes_of(
                ctx, placement, groups.hint_list(hints["different_host"]), nodes))
        return sctx

    async def _place_one(self, ctx: RequestContext, uuid: str, sctx: SchedulingContext,
                         hosts: list[HostState], steps: list[str], group_uuid: str | None) -> list[Selection]:
        run = self.pipeline.run_filters(hosts, sctx)
        if not run.passed:
            raise NoValidHost(f"{NO_VALID_HOST} {'; '.join(steps)}; {filters_emptied(run, hosts)}.")
        weighed = [w.host for w in self.pipeline.weigh(run.passed, sctx)]
        subset = min(self.runtime.settings.scheduler.host_subset_size, len(weighed))
        if subset > 1:  # spread racing schedulers over the best few hosts, as Nova does
            weighed.insert(0, weighed.pop(random.randrange(subset)))
        failures = []
        for index, host in enumerate(weighed):
            failure = await self._claim(ctx, uuid, sctx, host, group_uuid)
            if failure:
                failures.append(f"{host.host}: {failure}")
                continue
            host.consume(sctx.spec.flavor, sctx.spec.image.id)
            if sctx.group is not None:
                sctx.group.add_member_on(host.uuid)
            max_attempts = self.runtime.settings.scheduler.max_attempts
            alternates = list(itertools.islice((h for h in weighed[index + 1:] if h.cell_uuid == host.cell_uuid),
                                               max_attempts - 1))
            return [self._selection(host, host.allocation_requests[0])] + [
                self._selection(alt, alt.allocation_requests[0]) for alt in alternates
            ]
        steps += run.steps
        steps.append(f"claims failed on every remaining host ({'; '.join(failures)})")
        raise NoValidHost(f"{NO_VALID_HOST} {'; '.join(steps)}.")

    async def _claim(self, ctx: RequestContext, uuid: str, sctx: SchedulingContext, host: HostState,
                     group_uuid: str | None) -> str | None:
        """Claim `host` for `uuid`; None on success, else why not (the claim is then released)."""
        placement = self.runtime.require_placement()
        request = sctx.spec
        try:
            await placement.claim_resources(ctx, uuid, host.allocation_requests[0], request.project_id,
                                            request.user_id)
        except PlacementError as exc:
            count_claim_conflict(exc)
            return exc.detail
        group = sctx.group
        if group is not None and group_uuid and group.policy in ("affinity", "anti-affinity"):
            # Late check: another scheduler process may have placed a member meanwhile.
            loaded = await groups.load_group(ctx, self.runtime.require_api_db(), placement, group_uuid, {uuid},
                                             self.pipeline.cache.nodes)
            conflict = groups.group_conflict(group, host.uuid, loaded[0].members_on) if loaded else None
            if conflict:
                await placement.delete_allocations(ctx, uuid)
                if loaded:
                    group.members_on = loaded[0].members_on
                return conflict
        return None

    @staticmethod
    def _selection(host: HostState, allocation_request: dict[str, Any]) -> Selection:
        return Selection(service_host=host.host, nodename=host.nodename, compute_node_uuid=host.uuid,
                         cell_uuid=host.cell_uuid, allocation_request=allocation_request)

    async def dry_run(self, ctx: RequestContext, spec: dict[str, Any]) -> dict[str, Any]:
        """Per host: the step that rejected it and why, or its weight by weigher. Claims nothing."""
        return await dry_run.explain(self.pipeline, ctx, RequestSpecRecord.model_validate(spec), self._context)

    async def record_build_failure(self, ctx: RequestContext, host: str) -> None:
        """A build failed on `host` (from the conductor's reschedule): BuildFailureWeigher reads it."""
        self.pipeline.failed_builds[host] += 1
