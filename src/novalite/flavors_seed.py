"""The flavors a new lab starts with, so the first `server create` needs no admin step."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.db.api_models import Flavor

DEFAULT_FLAVORS = [
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("5", "m1.xlarge", 16384, 8, 160),
]


async def seed_flavors(api: async_sessionmaker[AsyncSession]) -> bool:
    """Create the default flavors when there are none at all; True if it did."""
    async with api() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(Flavor)):
            return False
        for flavorid, name, ram, vcpus, disk in DEFAULT_FLAVORS:
            session.add(Flavor(flavorid=flavorid, name=name, memory_mb=ram, vcpus=vcpus, root_gb=disk))
    return True
