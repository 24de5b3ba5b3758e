"""After the all-in-one restarts: nothing that was in flight on the in-memory bus survived.

Compute hosts already failed their interrupted builds and finished interrupted deletes
(compute/startup.py). What is left: builds that never reached a host are sent again,
and allocations whose consumer no longer exists are removed, so placement usage matches
exactly what exists.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest
from novalite.db.cell_models import Instance
from novalite.objects import instances

if TYPE_CHECKING:
    from novalite.services.conductor.manager import ConductorManager

LOG = logging.getLogger(__name__)


async def live_consumers(manager: "ConductorManager") -> tuple[set[str], list[str]]:
    """(every instance and build request uuid that exists, the pending build request uuids)."""
    runtime = manager.runtime
    async with runtime.require_api_db()() as session:
        pending = list((await session.scalars(select(BuildRequest.instance_uuid))).all())
    live = set(pending)
    cells = runtime.require_cells()
    for cell_uuid in cells.cells:
        async with cells.session(cell_uuid) as session:
            live |= set((await session.scalars(select(Instance.uuid).where(Instance.deleted == 0))).all())
    return live, pending


async def reconcile_after_restart(manager: "ConductorManager") -> dict[str, int]:
    runtime = manager.runtime
    ctx = RequestContext.admin()
    placement = runtime.require_placement()
    cells = runtime.require_cells()
    live, pending = await live_consumers(manager)
    # A build request whose instance also reached a cell: the cast to compute never happened.
    for uuid in pending:
        for cell_uuid in cells.cells:
            async with cells.session(cell_uuid) as session, session.begin():
                row = await session.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted == 0))
                if row is not None:
                    await instances.soft_delete(session, row)
    orphans = [c for c in await placement.list_consumers(ctx) if c not in live or c in pending]
    for consumer in orphans:
        await placement.delete_allocations(ctx, consumer)
    for uuid in pending:
        LOG.info("re-sending the interrupted build of %s", uuid)
        await manager.build_instances(ctx, [uuid])
    if orphans or pending:
        LOG.warning("reconciled after restart: %d builds re-sent, %d stale allocations removed",
                    len(pending), len(orphans))
    return {"rebuilt": len(pending), "allocations_removed": len(orphans)}
