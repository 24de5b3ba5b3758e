"""What filters and weighers read about the request beyond the host: options, group, hints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from novalite.config import SchedulerOptions
from novalite.db.types import utcnow
from novalite.records import RequestSpecRecord

AFFINITY_POLICIES = ("affinity", "soft-affinity")
ANTI_AFFINITY_POLICIES = ("anti-affinity", "soft-anti-affinity")


@dataclass
class GroupInfo:
    """A server group with where its other members are (compute node uuid -> how many)."""

    uuid: str
    name: str
    policy: str
    rules: dict[str, int] = field(default_factory=dict)
    members_on: dict[str, int] = field(default_factory=dict)

    @property
    def max_server_per_host(self) -> int:
        return int(self.rules.get("max_server_per_host", 1))

    def add_member_on(self, node_uuid: str) -> None:
        self.members_on[node_uuid] = self.members_on.get(node_uuid, 0) + 1


@dataclass
class SchedulingContext:
    spec: RequestSpecRecord
    options: SchedulerOptions
    service_down_time: float
    default_availability_zone: str = "nova"
    group: GroupInfo | None = None
    # compute node uuids where the instances named by the same_host / different_host hints run
    same_host_nodes: set[str] | None = None
    different_host_nodes: set[str] = field(default_factory=set)
    # one clock reading for the whole decision: "is this service up" asked of a thousand hosts
    now: dt.datetime = field(default_factory=utcnow)
