"""The scheduler's view of compute nodes: cached, refreshed cheaply, joined with placement's answer.

Loading every compute node and service row for each request costs more than the rest of
a decision at 10,000 hosts, so node identity is cached, reloaded in full every
`host_state_refresh_interval`, and in between only services whose row changed since the
last look (heartbeats, disable/enable) are re-read. Capacity and usage always come from
placement's provider summaries, which are current by construction.
"""

from __future__ import annotations

import asyncio
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


@dataclass(slots=True)   # slots: the cache holds one per host, and the collector walks them all
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
        # service host -> its nodes, kept with `nodes` so a service change needs no walk over every node
        self._by_host: dict[str, list[NodeInfo]] = defaultdict(list)
        self._services_seen: dict[str, dt.datetime] = {}   # cell -> newest Service.updated_at read
        self._loaded_at = -float("inf")
        self._refresh_began = -float("inf")   # monotonic time the last reload or service refresh began
        # One refresh at a time: in a burst of decisions, those that waited reuse the refresh
        # that began after they arrived instead of each scanning the services again.
        self._lock = asyncio.Lock()

    async def nodes_for(self, uuids: Iterable[str]) -> dict[str, NodeInfo]:
        wanted = list(uuids)
        arrived = time.monotonic()
        async with self._lock:
            if time.monotonic() - self._loaded_at > self.refresh_interval:
                await self._reload()
            elif self._refresh_began < arrived:  # a refresh that began later is as fresh as our own
                await self._refresh_services()
            missing = [u for u in wanted if u not in self.nodes]
            if missing:  # hosts registered since the last reload
                await self._load(ComputeNode.uuid.in_(missing), self.nodes, self._by_host, self._services_seen)
        nodes = self.nodes
        return {u: nodes[u] for u in wanted if u in nodes}

    async def node_uuids_of(self, hosts: Iterable[str]) -> list[str]:
        """The compute nodes (placement's root providers) of these service hosts, from the cells:
        a host an operator names may have registered after the last reload."""
        wanted, uuids = set(hosts), []
        for cell in self.cells.cells_with_hosts():
            async with self.cells.session(cell.uuid) as session:
                uuids += (await session.scalars(select(ComputeNode.uuid).where(
                    ComputeNode.host.in_(wanted), ComputeNode.deleted == 0))).all()
        return uuids

    async def _reload(self) -> None:
        began = time.monotonic()
        # built aside and swapped in whole: readers of `nodes` never see a half-loaded cache
        nodes: dict[str, NodeInfo] = {}
        by_host: dict[str, list[NodeInfo]] = defaultdict(list)
        seen: dict[str, dt.datetime] = {}
        await self._load(None, nodes, by_host, seen)
        self.nodes, self._by_host, self._services_seen = nodes, by_host, seen
        self._loaded_at = self._refresh_began = began

    async def _load(self, condition: Any, nodes: dict[str, NodeInfo], by_host: dict[str, list[NodeInfo]],
                    seen: dict[str, dt.datetime]) -> None:
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
                node = NodeInfo(row[0], row[1], row[2], cell.uuid, row[3], row[4], row[5] or {},
                                row[6], row[7], row[8], row[9])
                old = nodes.get(node.uuid)
                if old is not None:
                    by_host[old.host].remove(old)
                nodes[node.uuid] = node
                by_host[node.host].append(node)
                if row[10] is not None and row[10] > seen.get(cell.uuid, dt.datetime.min):
                    seen[cell.uuid] = row[10]

    async def _refresh_services(self) -> None:
        self._refresh_began = time.monotonic()
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
                for node in self._by_host.get(host, ()):
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
            if io:  # by host: no index knows which instances are busy, and a cell may hold 100,000
                counts.io_ops.update((await session.execute(
                    select(Instance.host, func.count()).where(
                        *live, or_(Instance.vm_state == VmState.BUILDING, Instance.task_state.in_(IO_TASK_STATES)))
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
        first = next(iter(request["allocations"]))
        summary = summaries.get(first)
        by_root[summary.get("root_provider_uuid", first) if summary else first].append(request)
    return by_root


def aggregates_by_host(hosts: set[str], aggregates: list[AggregateInfo]) -> dict[str, list[AggregateInfo]]:
    """The aggregates of each of `hosts` (only hosts in some aggregate are keys).

    Set intersections cost the smaller side: a zone of 10,000 hosts costs the candidates,
    a thousand small aggregates cost their own members.
    """
    found: dict[str, list[AggregateInfo]] = defaultdict(list)
    for agg in aggregates:
        for host in agg.hosts & hosts:
            found[host].append(agg)
    return found


def build_host_states(roots: dict[str, list[dict[str, Any]]], summaries: dict[str, Any],
                      nodes: dict[str, NodeInfo], counts: InstanceCounts, aggregates: list[AggregateInfo],
                      failed_builds: dict[str, int]) -> list[HostState]:
    """One HostState per candidate root provider that is a compute node, in placement's order.

    Built fresh for every decision (a decision's claims mutate them, and concurrent decisions
    must not see each other's), so this loop is kept to plain field copies and allocates
    little: placement's answer is this decision's own, its lists are not copied.
    """
    aggs_by_host = aggregates_by_host({node.host for node in nodes.values()}, aggregates)
    num_instances, io_ops, image_refs = counts.num_instances, counts.io_ops, counts.image_refs
    no_images: dict[str, int] = {}   # shared: HostState.consume replaces image_refs, never mutates it
    states = []
    append = states.append
    for root, requests in roots.items():
        node = nodes.get(root)
        if node is None:
            continue
        host = node.host
        summary = summaries.get(root) or {}
        capacity, used = {}, {}
        for rc, amounts in summary.get("resources", {}).items():
            capacity[rc] = amounts.get("capacity", 0)
            used[rc] = amounts.get("used", 0)
        append(HostState(  # positional, in field order: twenty keywords cost ~4 µs a host, 4 ms a decision
            node.uuid, host, node.nodename, node.cell_uuid, node.service_disabled, node.disabled_reason,
            node.forced_down, node.last_seen_up, node.hypervisor_type, node.hypervisor_version, node.cpu_info,
            num_instances.get(host, 0), io_ops.get(host, 0), failed_builds.get(host, 0),
            image_refs.get(host, no_images), aggs_by_host.get(host, ()), capacity, used,
            summary.get("traits", []), requests,
        ))
    return states
