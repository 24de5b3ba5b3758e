"""Server groups and the same_host/different_host hints, resolved to compute nodes via placement.

Where a member runs is read from its placement allocations rather than from the cell
databases: a member claimed a moment ago by another request (not yet in any cell) is
already visible there, which is what makes the anti-affinity check hold under races.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.context import RequestContext
from novalite.db.api_models import ServerGroup
from novalite.records import RequestSpecRecord
from novalite.services.placement.client import PlacementClient
from novalite.services.scheduler.context import GroupInfo


def hint_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def group_uuid_of(spec: RequestSpecRecord) -> str | None:
    if spec.instance_group and spec.instance_group.get("uuid"):
        return str(spec.instance_group["uuid"])
    hint = hint_list(spec.scheduler_hints.get("group"))
    return hint[0] if hint else None


async def nodes_of(ctx: RequestContext, placement: PlacementClient, consumers: Iterable[str],
                   known_nodes: set[str] | dict[str, Any] | None) -> dict[str, int]:
    """Compute node uuid -> how many of `consumers` hold allocations there.

    `known_nodes` picks the compute node among a consumer's providers; None takes the
    first provider (right for flat compute nodes, and all a caller without the host cache has).
    """
    uuids = list(consumers)
    found = await asyncio.gather(*(placement.get_allocations(ctx, c) for c in uuids))
    where: dict[str, int] = {}
    for body in found:
        providers = [p for p in body.get("allocations", {}) if known_nodes is None or p in known_nodes]
        if providers:
            where[providers[0]] = where.get(providers[0], 0) + 1
    return where


async def load_group(ctx: RequestContext, api: async_sessionmaker[AsyncSession], placement: PlacementClient,
                     group_uuid: str, exclude: set[str], known_nodes: set[str] | dict[str, Any] | None
                     ) -> tuple[GroupInfo, list[str]] | None:
    """The group with where its members (except `exclude`) run, and its member uuids."""
    async with api() as session:
        row = await session.scalar(select(ServerGroup).where(ServerGroup.uuid == group_uuid))
        if row is None:
            return None
        members = [m.instance_uuid for m in row.members if m.instance_uuid not in exclude]
        info = GroupInfo(uuid=row.uuid, name=row.name, policy=row.policy, rules=dict(row.rules or {}))
    info.members_on = await nodes_of(ctx, placement, members, known_nodes)
    return info, members


def group_conflict(info: GroupInfo, node_uuid: str, members_on: dict[str, int]) -> str | None:
    """Whether placing one more member on `node_uuid` breaks a hard policy, given where the others are."""
    if info.policy == "anti-affinity" and members_on.get(node_uuid, 0) >= info.max_server_per_host:
        return f"anti-affinity group {info.name or info.uuid} already has {members_on[node_uuid]} member(s) there"
    if info.policy == "affinity" and members_on and node_uuid not in members_on:
        return f"affinity group {info.name or info.uuid} members run elsewhere"
    return None


class GroupLocks:
    """One lock per server group: a scheduler process decides one group's placements at a time."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, uuid: str | None) -> AsyncIterator[None]:
        if uuid is None:
            yield
            return
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        self._users[uuid] = self._users.get(uuid, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[uuid] -= 1
            if not self._users[uuid]:  # nobody waits: forget it, so the dict does not grow forever
                del self._users[uuid], self._locks[uuid]
