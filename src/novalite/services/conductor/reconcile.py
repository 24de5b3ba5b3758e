"""After the all-in-one restarts: nothing that was in flight on the in-memory bus survived.

Compute hosts already failed their interrupted builds and finished interrupted deletes
(compute/startup.py). What is left: builds that never reached a host are sent again,
and allocations whose consumer no longer exists are removed, so placement usage matches
exactly what exists.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest
from novalite.cells import CellRegistry
from novalite.db.cell_models import Instance, InstanceAction, InstanceFault, Migration

if TYPE_CHECKING:
    from novalite.services.conductor.manager import ConductorManager

LOG = logging.getLogger(__name__)


# Migrations in these states are over: their consumer no longer holds anything.
FINISHED_MIGRATIONS = ("confirmed", "reverted", "error")


async def live_consumers(api: async_sessionmaker[AsyncSession], cells: CellRegistry) -> tuple[set[str], list[str]]:
    """(every consumer that may hold allocations, the pending build request uuids).

    Live: build requests, instances that are not deleted, and migrations still in flight
    (they hold the source host of a resize until confirm or revert).
    """
    async with api() as session:
        pending = list((await session.scalars(select(BuildRequest.instance_uuid))).all())
    live = set(pending)
    for cell_uuid in cells.cells:
        async with cells.session(cell_uuid) as session:
            live |= set((await session.scalars(select(Instance.uuid).where(Instance.deleted == 0))).all())
            live |= set((await session.scalars(
                select(Migration.uuid).where(Migration.status.not_in(FINISHED_MIGRATIONS)))).all())
    return live, pending


async def clean_up_after_restart(manager: "ConductorManager") -> list[str]:
    """Drop half-made cell rows and stale allocations; return the builds to send again.

    Runs before the API takes its first request: a build accepted after the restart must
    not look interrupted, and its fresh claim must not look stale.
    """
    runtime = manager.runtime
    ctx = RequestContext.admin()
    placement = runtime.require_placement()
    cells = runtime.require_cells()
    live, pending = await live_consumers(runtime.require_api_db(), cells)
    # A build request whose instance also reached a cell: the process died between the
    # two commits and the cast to compute never happened. The half-made cell row goes
    # (not soft-deleted: the build sent again creates it anew under the same uuid).
    for uuid in pending:
        for cell_uuid in cells.cells:
            async with cells.session(cell_uuid) as session, session.begin():
                await session.execute(delete(InstanceAction).where(InstanceAction.instance_uuid == uuid))
                await session.execute(delete(InstanceFault).where(InstanceFault.instance_uuid == uuid))
                await session.execute(delete(Instance).where(Instance.uuid == uuid))
    orphans = [c for c in await placement.list_consumers(ctx) if c not in live or c in pending]
    for consumer in orphans:
        await placement.delete_allocations(ctx, consumer)
    if orphans or pending:
        LOG.warning("reconciled after restart: %d builds to send again, %d stale allocations removed",
                    len(pending), len(orphans))
    return pending


async def resend_builds(manager: "ConductorManager", pending: list[str]) -> None:
    """Send the interrupted builds again (in the background: scheduling takes a while)."""
    ctx = RequestContext.admin()
    for uuid in pending:
        LOG.info("re-sending the interrupted build of %s", uuid)
        try:
            await manager.build_instances(ctx, [uuid])
        except Exception:  # one bad build must not strand the others in BUILD
            LOG.exception("re-sending the build of %s failed", uuid)
            await manager.bury_in_cell0(ctx, uuid, "Build interrupted by a restart, and sending it again failed")
