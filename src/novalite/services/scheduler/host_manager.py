"""Build HostStates for placement's candidates from the cell databases."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from novalite.cells import CellRegistry
from novalite.db.cell_models import ComputeNode, Instance, Service
from novalite.services.scheduler.host_state import HostState


def _summaries_by_root(candidates: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_root: dict[str, list[dict[str, Any]]] = defaultdict(list)
    summaries = candidates.get("provider_summaries", {})
    for request in candidates.get("allocation_requests", []):
        providers = list(request["allocations"])
        root = summaries.get(providers[0], {}).get("root_provider_uuid", providers[0])
        by_root[root].append(request)
    return by_root


async def host_states_for(cells: CellRegistry, candidates: dict[str, Any]) -> list[HostState]:
    """One HostState per root provider that is a compute node of some cell."""
    by_root = _summaries_by_root(candidates)
    summaries = candidates.get("provider_summaries", {})
    states: list[HostState] = []
    if not by_root:
        return states
    for cell in cells.cells_with_hosts():
        async with cells.session(cell.uuid) as session:
            rows = (await session.execute(
                select(ComputeNode, Service)
                .join(Service, Service.id == ComputeNode.service_id)
                .where(ComputeNode.uuid.in_(list(by_root)), ComputeNode.deleted == 0)
            )).all()
            hosts = [node.host for node, _ in rows]
            counts = dict((await session.execute(
                select(Instance.host, func.count()).where(Instance.host.in_(hosts), Instance.deleted == 0)
                .group_by(Instance.host)
            )).all()) if hosts else {}
        for node, service in rows:
            summary = summaries.get(node.uuid, {})
            resources = summary.get("resources", {})
            states.append(HostState(
                uuid=node.uuid, host=node.host, nodename=node.hypervisor_hostname, cell_uuid=cell.uuid,
                service_disabled=service.disabled, disabled_reason=service.disabled_reason,
                forced_down=service.forced_down, last_seen_up=service.last_seen_up,
                num_instances=counts.get(node.host, 0),
                capacity={rc: r.get("capacity", 0) for rc, r in resources.items()},
                used={rc: r.get("used", 0) for rc, r in resources.items()},
                traits=list(summary.get("traits", [])),
                allocation_requests=by_root[node.uuid],
            ))
    return states
