"""The scheduler's view of compute nodes: cached, refreshed cheaply, joined with placement's answer.

Loading every compute node and service row for each request costs more than the rest of
a decision at 10,000 hosts, so node identity is cached, reloaded in full every
`host_state_refresh_interval`, and in between only services whose row changed since the
last look (heartbeats, disable/enable) are re-read. Capacity and usage always come from
placement's provider summaries, which are current by construction.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import func, or_, select

from novalite.cells import CellRegistry
from novalite.db.cell_models import ComputeNode, Instance, Service
from novalite.services.scheduler.host_state import AggregateInfo, HostState
from novalite.states import TaskState, VmState

# Nova's io_workload: tasks that keep a host's disks and network busy.
IO_TASK_STATES = (
    TaskState.RESIZE_MIGRATING, TaskState.REBUILDING, TaskState.RESIZE_PREP, TaskState.IMAGE_SNAPSHOT,
    TaskState.MIGRATING, TaskState.SPAWNING, TaskState.SCHEDULING,
)


@dataclass
class NodeInfo:
    uuid: str
    host: str
    nodename: str
    cell_uuid: str
    hypervisor_type: str
    hypervisor_version: int
    cpu_info: dict[str, Any]
    service_disabled: bool
    disabled_reason: str | None
    forced_down: bool
    last_seen_up: dt.datetime | None


@dataclass
class InstanceCounts:
    num_instances: dict[str, int]
    io_ops: dict[str, int]
    image_refs: dict[str, dict[str, int]]


class HostCache:
    def __init__(self, cells: CellRegistry, refresh_interval: float):
        self.cells, self.refresh_interval = cells, refresh_interval
        self.nodes: dict[str, NodeInfo] = {}
        self._loaded_at = -float("inf")
        self._services_seen: dict[str, dt.datetime] = {}   # cell -> newest Service.updated_at read

    async def nodes_for(self, uuids: Iterable[str]) -> dict[str, NodeInfo]:
        wanted = list(uuids)
        if time.monotonic() - self._loaded_at > self.refresh_interval:
            await self._reload()
        else:
            await self._refresh_services()
        missing = [u for u in wanted if u not in self.nodes]
        if missing:  # hosts registered since the last reload
            await self._load(ComputeNode.uuid.in_(missing))
        return {u: self.nodes[u] for u in wanted if u in self.nodes}

    async def _reload(self) -> None:
        self.nodes = {}
        self._services_seen = {}
        await self._load(None)
        self._loaded_at = time.monotonic()

    async def _load(self, condition: Any) -> None:
        for cell in self.cells.cells_with_hosts():
            query = (select(ComputeNode.uuid, ComputeNode.host, ComputeNode.hypervisor_hostname,
                            ComputeNode.hypervisor_type, ComputeNode.hypervisor_version, ComputeNode.cpu_info,
                            Service.disabled, Service.disabled_reason, Service.forced_down,
                            Service.last_seen_up, Service.updated_at)
                     .join(Service, Service.id == ComputeNode.service_id)
                     .where(ComputeNode.deleted == 0))
            if condition is not None:
                query = query.where(condition)
            async with self.cells.session(cell.uuid) as session:
                rows = (await session.execute(query)).all()
            for row in rows:
                self.nodes[row[0]] = NodeInfo(row[0], row[1], row[2], cell.uuid, row[3], row[4], row[5] or {},
                                              row[6], row[7], row[8], row[9])
                if row[10] is not None and row[10] > self._services_seen.get(cell.uuid, dt.datetime.min):
                    self._services_seen[cell.uuid] = row[10]

    async def _refresh_services(self) -> None:
        by_host: dict[str, list[NodeInfo]] = defaultdict(list)
        for node in self.nodes.values():
            by_host[node.host].append(node)
        for cell in self.cells.cells_with_hosts():
            since = self._services_seen.get(cell.uuid)
            query = select(Service.host, Service.disabled, Service.disabled_reason, Service.forced_down,
                           Service.last_seen_up, Service.updated_at).where(
                Service.binary == "nova-compute", Service.deleted == 0)
            if since is not None:
                query = query.where(Service.updated_at >= since)
            async with self.cells.session(cell.uuid) as session:
                rows = (await session.execute(query)).all()
            for host, disabled, reason, forced_down, last_seen_up, updated_at in rows:
                for node in by_host.get(host, []):
                    node.service_disabled, node.disabled_reason = disabled, reason
                    node.forced_down, node.last_seen_up = forced_down, last_seen_up
                if updated_at is not None and updated_at > self._services_seen.get(cell.uuid, dt.datetime.min):
                    self._services_seen[cell.uuid] = updated_at


async def instance_counts(cells: CellRegistry, hosts_by_cell: dict[str, list[str]], *, num: bool,
                          io: bool, images: bool) -> InstanceCounts:
    """Per-host instance statistics, loaded only when an enabled filter or weigher reads them."""
    counts = InstanceCounts({}, {}, defaultdict(dict))
    for cell_uuid, hosts in hosts_by_cell.items():
        live = (Instance.host.in_(hosts), Instance.deleted == 0)
        async with cells.session(cell_uuid) as session:
            if num:
                counts.num_instances.update((await session.execute(
                    select(Instance.host, func.count()).where(*live).group_by(Instance.host))).all())
            if io:  # few instances are busy: no need to name a thousand hosts in the query
                counts.io_ops.update((await session.execute(
                    select(Instance.host, func.count()).where(
                        Instance.deleted == 0, Instance.host.is_not(None),
                        or_(Instance.vm_state == VmState.BUILDING, Instance.task_state.in_(IO_TASK_STATES)))
                    .group_by(Instance.host))).all())
            if images:
                for host, image_ref, count in (await session.execute(
                        select(Instance.host, Instance.image_ref, func.count()).where(*live)
                        .group_by(Instance.host, Instance.image_ref))).all():
                    counts.image_refs[host][image_ref or ""] = count
    return counts


def roots_of(candidates: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Allocation requests grouped by the root provider (the compute node) they allocate from."""
    by_root: dict[str, list[dict[str, Any]]] = defaultdict(list)
    summaries = candidates.get("provider_summaries", {})
    for request in candidates.get("allocation_requests", []):
        providers = list(request["allocations"])
        root = summaries.get(providers[0], {}).get("root_provider_uuid", providers[0])
        by_root[root].append(request)
    return by_root


def build_host_states(candidates: dict[str, Any], nodes: dict[str, NodeInfo], counts: InstanceCounts,
                      aggregates: list[AggregateInfo], failed_builds: dict[str, int]) -> list[HostState]:
    """One HostState per candidate root provider that is a compute node, in placement's order."""
    summaries = candidates.get("provider_summaries", {})
    aggs_by_host: dict[str, list[AggregateInfo]] = defaultdict(list)
    for agg in aggregates:
        for host in agg.hosts:
            aggs_by_host[host].append(agg)
    states = []
    for root, requests in roots_of(candidates).items():
        node = nodes.get(root)
        if node is None:
            continue
        resources = summaries.get(root, {}).get("resources", {})
        states.append(HostState(
            uuid=node.uuid, host=node.host, nodename=node.nodename, cell_uuid=node.cell_uuid,
            service_disabled=node.service_disabled, disabled_reason=node.disabled_reason,
            forced_down=node.forced_down, last_seen_up=node.last_seen_up,
            hypervisor_type=node.hypervisor_type, hypervisor_version=node.hypervisor_version,
            cpu_info=node.cpu_info, num_instances=counts.num_instances.get(node.host, 0),
            num_io_ops=counts.io_ops.get(node.host, 0), failed_builds=failed_builds.get(node.host, 0),
            image_refs=dict(counts.image_refs.get(node.host, {})), aggregates=aggs_by_host.get(node.host, []),
            capacity={rc: r.get("capacity", 0) for rc, r in resources.items()},
            used={rc: r.get("used", 0) for rc, r in resources.items()},
            traits=list(summaries.get(root, {}).get("traits", [])), allocation_requests=requests,
        ))
    return states
