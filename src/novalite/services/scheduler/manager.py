"""The scheduler's bus endpoint: pick a host (plus alternates) and claim it in placement."""

from __future__ import annotations

import logging
from typing import Any

from novalite.context import RequestContext
from novalite.exceptions import NoValidHost
from novalite.records import RequestSpecRecord, Selection
from novalite.runtime import Runtime
from novalite.services.placement.client import PlacementError
from novalite.services.scheduler import placement_query
from novalite.services.scheduler.filters import FilterContext, load_filters
from novalite.services.scheduler.host_manager import host_states_for
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers import load_weighers, weigh_hosts

LOG = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host was found."


class SchedulerManager:
    """Served on topic `scheduler`."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        options = runtime.settings.scheduler
        self.filters = load_filters(options.enabled_filters)
        self.weighers = load_weighers(options.weight_classes)

    async def select_destinations(self, ctx: RequestContext, spec: dict[str, Any],
                                  instance_uuids: list[str]) -> list[list[dict[str, Any]]]:
        request = RequestSpecRecord.model_validate(spec)
        placement = self.runtime.require_placement()
        options = self.runtime.settings.scheduler
        query = placement_query.query_for(request, options.max_placement_results)
        candidates = await placement.get_allocation_candidates(ctx, query)
        hosts = await host_states_for(self.runtime.require_cells(), candidates)
        steps = [f"placement: {len(hosts)} hosts with {placement_query.describe(query)}"]
        if not hosts:
            raise NoValidHost(f"{NO_VALID_HOST} {steps[0]}.")
        hosts = [h for h in hosts if h.host not in request.retry.hosts and h.host not in request.ignore_hosts]
        if request.retry.hosts:
            steps.append(f"excluding hosts already tried ({', '.join(request.retry.hosts)}): {len(hosts)}")
        claimed: list[str] = []
        results: list[list[dict[str, Any]]] = []
        try:
            for uuid in instance_uuids:
                alternates = await self._place_one(ctx, uuid, request, hosts, list(steps))
                claimed.append(uuid)
                results.append([s.model_dump(mode="json") for s in alternates])
        except NoValidHost:
            for uuid in claimed:  # all or nothing for a multi-create, as in Nova
                await placement.delete_allocations(ctx, uuid)
            raise
        return results

    async def _place_one(self, ctx: RequestContext, uuid: str, request: RequestSpecRecord,
                         hosts: list[HostState], steps: list[str]) -> list[Selection]:
        fctx = FilterContext(spec=request, service_down_time=self.runtime.settings.service.service_down_time)
        remaining = hosts
        for host_filter in self.filters:
            remaining = [h for h in remaining if host_filter.host_passes(h, fctx)]
            steps.append(f"{host_filter.name}: {len(remaining)}")
        if not remaining:
            raise NoValidHost(f"{NO_VALID_HOST} {'; '.join(steps)}.")
        weighed = [h for h, _ in weigh_hosts(remaining, self.weighers)]
        placement = self.runtime.require_placement()
        failures = []
        for index, host in enumerate(weighed):
            request_body = host.allocation_requests[0]
            try:
                await placement.claim_resources(ctx, uuid, request_body, request.project_id, request.user_id)
            except PlacementError as exc:
                failures.append(f"{host.host}: {exc.detail}")
                continue
            host.consume(request.flavor)
            max_attempts = self.runtime.settings.scheduler.max_attempts
            alternates = [h for h in weighed[index + 1:] if h.cell_uuid == host.cell_uuid][: max_attempts - 1]
            return [self._selection(host, request_body)] + [
                self._selection(alt, alt.allocation_requests[0]) for alt in alternates
            ]
        steps.append(f"claims failed on every host ({'; '.join(failures)})")
        raise NoValidHost(f"{NO_VALID_HOST} {'; '.join(steps)}.")

    @staticmethod
    def _selection(host: HostState, allocation_request: dict[str, Any]) -> Selection:
        return Selection(service_host=host.host, nodename=host.nodename, compute_node_uuid=host.uuid,
                         cell_uuid=host.cell_uuid, allocation_request=allocation_request)
