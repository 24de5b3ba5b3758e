"""Start-up of the placement database: migrate, then sync the standard classes and traits."""

from __future__ import annotations

import os_resource_classes
import os_traits
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from novalite.db.migrate import upgrade
from novalite.db.types import utcnow
from novalite.services.placement.db_models import ResourceClass, Trait
from novalite.services.placement.objects.common import insert_ignore


async def prepare_placement_database(engine: AsyncEngine) -> None:
    """Idempotent: a second start finds nothing missing and writes nothing."""
    await upgrade(engine, "placement")
    async with engine.begin() as conn:
        for table, names in ((ResourceClass.__table__, os_resource_classes.STANDARDS),
                             (Trait.__table__, os_traits.get_traits())):
            have = set((await conn.execute(select(table.c.name))).scalars())
            missing = [n for n in names if n not in have]
            if missing:
                now = utcnow()
                # several workers may start at once: whoever inserts a name first wins
                await conn.execute(insert_ignore(conn, table), [{"name": n, "created_at": now} for n in missing])
