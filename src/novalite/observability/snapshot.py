"""Gauges read at scrape time: what the cloud looks like, not what this process did.

Each process reports what it can see: queue depths through its bus; instances, services
and builds if it has the cell databases (api, conductor, scheduler); placement capacity
if it has the placement database. Dashboards take max() across processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from novalite.db.cell_models import Instance, Service
from novalite.db.types import utcnow
from novalite.services.api.service_status import service_is_up

if TYPE_CHECKING:
    from novalite.runtime import Runtime

LOG = logging.getLogger(__name__)


class _Families(Collector):
    """Hands already-built families to generate_latest (collect() must be synchronous)."""

    def __init__(self, families: list[GaugeMetricFamily]):
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self.families)


async def _queue_depths(runtime: "Runtime") -> GaugeMetricFamily:
    family = GaugeMetricFamily("novalite_bus_queue_depth", "Messages waiting in a topic's queue.",
                               labels=["topic"])
    for topic, depth in sorted((await runtime.bus.queue_depths()).items()):
        family.add_metric([topic], depth)
    return family


async def _cells(runtime: "Runtime") -> list[GaugeMetricFamily]:
    cells, settings = runtime.require_cells(), runtime.settings
    down_time, build_timeout = settings.service.service_down_time, settings.conductor.build_timeout
    by_state = GaugeMetricFamily("novalite_instances", "Instances by cell and vm_state.", labels=["cell", "vm_state"])
    services = GaugeMetricFamily("novalite_compute_services", "Compute services by cell and state (up/down).",
                                 labels=["cell", "state"])
    up = GaugeMetricFamily("novalite_service_up", "1 if the service heartbeats in time.",
                           labels=["cell", "host", "binary", "disabled"])
    heartbeat = GaugeMetricFamily("novalite_service_last_heartbeat_timestamp_seconds",
                                  "Unix time of a service's last heartbeat.", labels=["cell", "host", "binary"])
    builds = GaugeMetricFamily("novalite_builds", "Instances in vm_state building, and those unchanged for "
                               "longer than [conductor] build_timeout (stuck).", labels=["cell", "state"])
    timeout = GaugeMetricFamily("novalite_build_timeout_seconds", "[conductor] build_timeout: when a build is stuck.")
    timeout.add_metric([], build_timeout)
    stuck_before = utcnow() - dt.timedelta(seconds=build_timeout)
    for cell in cells.cells.values():
        name = cell.name or cell.uuid
        async with cells.session(cell.uuid) as session:
            counts = await session.execute(select(Instance.vm_state, func.count()).where(Instance.deleted == 0)
                                           .group_by(Instance.vm_state))
            for vm_state, count in counts:
                by_state.add_metric([name, vm_state], count)
            building = select(func.count()).where(Instance.deleted == 0, Instance.vm_state == "building")
            builds.add_metric([name, "in_progress"], await session.scalar(building) or 0)
            silent = func.coalesce(Instance.updated_at, Instance.created_at) < stuck_before
            builds.add_metric([name, "stuck"], await session.scalar(building.where(silent)) or 0)
            if cell.is_cell0:
                continue
            rows = (await session.scalars(select(Service).where(Service.deleted == 0))).all()
        tally = {"up": 0, "down": 0}
        for service in rows:
            alive = service_is_up(service, down_time)
            up.add_metric([name, service.host, service.binary, str(service.disabled).lower()], 1 if alive else 0)
            if service.last_seen_up is not None:
                heartbeat.add_metric([name, service.host, service.binary],
                                     service.last_seen_up.replace(tzinfo=dt.timezone.utc).timestamp())
            if service.binary == "nova-compute":
                tally["up" if alive else "down"] += 1
        for state, count in tally.items():
            services.add_metric([name, state], count)
    return [by_state, services, up, heartbeat, builds, timeout]


async def _placement(runtime: "Runtime") -> list[GaugeMetricFamily]:
    from novalite.services.placement.db_models import Inventory, ResourceClass

    assert runtime.placement_sessions is not None
    capacity = GaugeMetricFamily("novalite_placement_capacity",
                                 "Allocatable amount: (total - reserved) * allocation_ratio, by resource class.",
                                 labels=["resource_class"])
    usage = GaugeMetricFamily("novalite_placement_usage", "Amount allocated, by resource class.",
                              labels=["resource_class"])
    query = (select(ResourceClass.name,
                    func.sum((Inventory.total - Inventory.reserved) * Inventory.allocation_ratio),
                    func.sum(Inventory.used))
             .join(ResourceClass, ResourceClass.id == Inventory.resource_class_id).group_by(ResourceClass.name))
    async with runtime.placement_sessions() as session:
        for rc, cap, used in await session.execute(query):
            capacity.add_metric([rc], float(cap or 0))
            usage.add_metric([rc], float(used or 0))
    return [capacity, usage]


async def _bounded(name: str, coro, timeout: float) -> list[GaugeMetricFamily]:  # type: ignore[no-untyped-def]
    """A source that fails or hangs costs its own gauges, never the whole scrape."""
    try:
        async with asyncio.timeout(timeout):
            found = await coro
    except Exception as exc:  # reported, not raised: the process counters must still be scraped
        LOG.warning("metrics: reading %s failed: %s", name, exc or type(exc).__name__)
        error = GaugeMetricFamily("novalite_scrape_error", "1 if a scrape-time source failed.", labels=["source"])
        error.add_metric([name], 1)
        return [error]
    return found if isinstance(found, list) else [found]


async def snapshot_text(runtime: "Runtime", timeout: float) -> bytes:
    sources = [("bus", _queue_depths(runtime))]
    if runtime.cells is not None:
        sources.append(("cells", _cells(runtime)))
    if runtime.placement_sessions is not None:
        sources.append(("placement", _placement(runtime)))
    results = await asyncio.gather(*(_bounded(name, coro, timeout) for name, coro in sources))
    families: list[GaugeMetricFamily] = []
    errors: list[GaugeMetricFamily] = []
    for found in results:
        for family in found:
            (errors if family.name == "novalite_scrape_error" else families).append(family)
    if errors:  # one family, however many sources failed
        merged = errors[0]
        for extra in errors[1:]:
            merged.samples.extend(extra.samples)
        families.append(merged)
    if "events" in runtime.extras:
        subscribers = GaugeMetricFamily("novalite_event_subscribers", "Clients following the live event stream.")
        subscribers.add_metric([], runtime.extras["events"].subscriber_count)  # type: ignore[attr-defined]
        families.append(subscribers)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    return generate_latest(registry)
