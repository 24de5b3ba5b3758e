"""Hosts and requests built for one filter or weigher at a time."""

from __future__ import annotations

from typing import Any

from novalite.config import SchedulerOptions
from novalite.db.types import utcnow
from novalite.records import FlavorRecord, ImageRecord, RequestSpecRecord
from novalite.services.scheduler.context import GroupInfo, SchedulingContext
from novalite.services.scheduler.host_state import AggregateInfo, HostState


def make_host(name: str, free_ram: int = 4096, free_cpu: int = 8, free_disk: int = 100,
              aggregates: list[AggregateInfo] | None = None, **fields: Any) -> HostState:
    state = HostState(uuid=f"uuid-{name}", host=name, nodename=name, cell_uuid="cell1",
                      last_seen_up=utcnow(), hypervisor_type="fake", hypervisor_version=1000,
                      cpu_info={"arch": "x86_64"}, aggregates=aggregates or [],
                      capacity={"MEMORY_MB": 65536, "VCPU": 64, "DISK_GB": 1000},
                      used={"MEMORY_MB": 65536 - free_ram, "VCPU": 64 - free_cpu, "DISK_GB": 1000 - free_disk},
                      allocation_requests=[{"allocations": {f"uuid-{name}": {"resources": {"VCPU": 1}}}}])
    for key, value in fields.items():
        setattr(state, key, value)
    return state


def aggregate(name: str, hosts: list[str], **metadata: str) -> AggregateInfo:
    return AggregateInfo(uuid=f"agg-{name}", name=name, hosts=frozenset(hosts), metadata=metadata)


def make_context(extra_specs: dict[str, str] | None = None, image_props: dict[str, Any] | None = None,
                 hints: dict[str, Any] | None = None, group: GroupInfo | None = None,
                 project_id: str = "p1", zone: str | None = None, image_id: str = "img",
                 **options: Any) -> SchedulingContext:
    spec = RequestSpecRecord(
        instance_uuid="i1", project_id=project_id, user_id="u1",
        flavor=FlavorRecord(flavorid="1", name="f", vcpus=1, memory_mb=512, root_gb=1,
                            extra_specs=extra_specs or {}),
        image=ImageRecord(id=image_id, properties=image_props or {}), scheduler_hints=hints or {},
        availability_zone=zone,
    )
    return SchedulingContext(spec=spec, options=SchedulerOptions(**options), service_down_time=60.0, group=group)
