"""The shared handles every service is given: settings, databases, bus, placement."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from novalite.auth import Authenticator
from novalite.bus.base import Bus
from novalite.bus.foreground import ForegroundGate
from novalite.cells import CellRegistry
from novalite.config import Settings
from novalite.services.placement.client import PlacementClient


@dataclass
class Runtime:
    settings: Settings
    bus: Bus
    authenticator: Authenticator
    api_engine: AsyncEngine | None = None
    api_sessions: async_sessionmaker[AsyncSession] | None = None
    cells: CellRegistry | None = None
    placement_engine: AsyncEngine | None = None
    placement_sessions: async_sessionmaker[AsyncSession] | None = None
    placement: PlacementClient | None = None
    foreground: ForegroundGate | None = None
    extras: dict[str, object] = field(default_factory=dict)

    def require_api_db(self) -> async_sessionmaker[AsyncSession]:
        if self.api_sessions is None:
            raise RuntimeError("this role has no API database configured")
        return self.api_sessions

    def require_cells(self) -> CellRegistry:
        if self.cells is None:
            raise RuntimeError("this role has no cell databases configured")
        return self.cells

    def require_placement(self) -> PlacementClient:
        if self.placement is None:
            raise RuntimeError("this role has no placement client configured")
        return self.placement
