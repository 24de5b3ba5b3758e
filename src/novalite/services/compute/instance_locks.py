"""One lock per instance, so a delete waits for a build of the same instance to finish."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator


class InstanceLocks:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, uuid: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        self._users[uuid] = self._users.get(uuid, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[uuid] -= 1
            if self._users[uuid] == 0:  # forget idle locks so the table does not grow forever
                del self._users[uuid], self._locks[uuid]
