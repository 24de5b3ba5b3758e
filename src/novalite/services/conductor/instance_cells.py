"""Which cell holds an instance: the instance mapping, cached (an instance never changes cell)."""

from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from novalite.db.api_models import InstanceMapping
from novalite.exceptions import InstanceNotFound


class InstanceCells:
    def __init__(self, api: async_sessionmaker[AsyncSession], size: int = 100_000):
        self.api = api
        self.size = size
        self._cache: OrderedDict[str, str] = OrderedDict()

    def remember(self, uuid: str, cell_uuid: str) -> None:
        self._cache[uuid] = cell_uuid
        self._cache.move_to_end(uuid)
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)

    async def lookup(self, uuid: str) -> str:
        cell_uuid = self._cache.get(uuid)
        if cell_uuid is not None:
            return cell_uuid
        async with self.api() as session:
            mapping = await session.scalar(select(InstanceMapping).where(InstanceMapping.instance_uuid == uuid))
        if mapping is None or mapping.cell is None:
            raise InstanceNotFound(f"Instance {uuid} could not be found in any cell.")
        self.remember(uuid, mapping.cell.uuid)
        return mapping.cell.uuid
