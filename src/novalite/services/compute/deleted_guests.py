"""Guests still running for servers that were deleted while their compute was down.

The API deletes such a server in the database only (Nova's local delete); the compute
destroys what is left on the hypervisor when it is back: at start-up and with each power
sync, as Nova's running-deleted-instance reaper does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from novalite.context import RequestContext

if TYPE_CHECKING:
    from novalite.services.compute.manager import ComputeManager

LOG = logging.getLogger(__name__)


async def reap_deleted_guests(manager: "ComputeManager", ctx: RequestContext) -> int:
    """Destroy the guests of deleted servers; returns how many."""
    running = await manager.driver.list_power_states()
    if not running:
        return 0
    deleted = await manager.conductor.deleted_instances(ctx, manager.host, sorted(running))
    for instance in deleted:
        LOG.warning("destroying guest %s on %s: its server was deleted while this compute was down",
                    instance.uuid, manager.host)
        async with manager.locks.hold(instance.uuid):
            await manager.driver.destroy(instance.to_spec())
    if deleted:
        manager.resources_changed()
    return len(deleted)
