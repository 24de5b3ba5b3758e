"""Cells v2: the cell mappings of the API database and a session per cell database."""

from __future__ import annotations

import uuid as uuidlib
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from novalite.db.api_models import CELL0_UUID, CellMapping, HostMapping
from novalite.db.engine import make_engine, session_factory
from novalite.db.migrate import upgrade


class CellNotFound(LookupError):
    pass


class CellRegistry:
    """Knows every cell and opens its database on first use."""

    def __init__(self, api_sessions: async_sessionmaker[AsyncSession], pool_size: int = 10,
                 echo: bool = False):
        self.api_sessions = api_sessions
        self.pool_size, self.echo = pool_size, echo
        self.cells: dict[str, CellMapping] = {}
        self._engines: dict[str, AsyncEngine] = {}
        self._sessions: dict[str, async_sessionmaker[AsyncSession]] = {}
        self._host_cells: dict[str, str] = {}

    async def refresh(self) -> None:
        async with self.api_sessions() as session:
            rows = (await session.scalars(select(CellMapping).order_by(CellMapping.id))).all()
        self.cells = {row.uuid: row for row in rows}

    @property
    def cell0(self) -> CellMapping:
        return self.cells[CELL0_UUID]

    def cells_with_hosts(self) -> list[CellMapping]:
        """Every cell but cell0, in creation order."""
        return [c for c in self.cells.values() if not c.is_cell0]

    def engine(self, cell_uuid: str) -> AsyncEngine:
        if cell_uuid not in self._engines:
            cell = self.cells.get(cell_uuid)
            if cell is None:
                raise CellNotFound(f"no cell with uuid {cell_uuid}")
            self._engines[cell_uuid] = make_engine(cell.database_connection, self.pool_size, self.echo)
        return self._engines[cell_uuid]

    def sessions(self, cell_uuid: str) -> async_sessionmaker[AsyncSession]:
        if cell_uuid not in self._sessions:
            self._sessions[cell_uuid] = session_factory(self.engine(cell_uuid))
        return self._sessions[cell_uuid]

    @asynccontextmanager
    async def session(self, cell_uuid: str) -> AsyncIterator[AsyncSession]:
        async with self.sessions(cell_uuid)() as session:
            yield session

    async def cell_for_host(self, host: str) -> str:
        """The cell uuid a compute host is mapped to (cached: mappings never move)."""
        if host in self._host_cells:
            return self._host_cells[host]
        async with self.api_sessions() as session:
            mapping = await session.scalar(select(HostMapping).where(HostMapping.host == host))
        if mapping is None:
            raise CellNotFound(f"compute host '{host}' is not mapped to any cell")
        self._host_cells[host] = mapping.cell.uuid
        return mapping.cell.uuid

    async def hosts_by_cell(self) -> dict[str, list[str]]:
        """Every mapped compute host, by cell uuid."""
        async with self.api_sessions() as session:
            rows = (await session.execute(select(CellMapping.uuid, HostMapping.host)
                                          .join(HostMapping, HostMapping.cell_id == CellMapping.id))).all()
        hosts: dict[str, list[str]] = {}
        for cell_uuid, host in rows:
            hosts.setdefault(cell_uuid, []).append(host)
        return hosts

    async def map_host(self, host: str, cell_uuid: str) -> str:
        """Map `host` to a cell the moment it registers; idempotent under concurrent starts."""
        try:
            return await self.cell_for_host(host)
        except CellNotFound:
            pass
        cell = self.cells[cell_uuid]
        async with self.api_sessions() as session:
            session.add(HostMapping(host=host, cell_id=cell.id))
            try:
                await session.commit()
            except Exception:
                # Lost a race with another registration of the same host: theirs stands.
                await session.rollback()
        self._host_cells.pop(host, None)
        return await self.cell_for_host(host)

    async def migrate_all(self) -> None:
        for cell_uuid in self.cells:
            await upgrade(self.engine(cell_uuid), "cell")

    async def dispose(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()
        self._sessions.clear()


async def ensure_default_cells(
    api_sessions: async_sessionmaker[AsyncSession], cell0_url: str, cell1_url: str, transport_url: str,
    with_cell1: bool = True,
) -> None:
    """Create the cell0 and cell1 mappings on first start (Nova's `cell_v2 simple_cell_setup`).

    No cell1 is made once any other cell exists (e.g. made with `novalite cell create`).
    """
    async with api_sessions() as session:
        existing = {c.uuid: c for c in (await session.scalars(select(CellMapping))).all()}
        if CELL0_UUID not in existing:
            session.add(CellMapping(uuid=CELL0_UUID, name="cell0", database_connection=cell0_url,
                                    transport_url="none:///"))
        if with_cell1 and not any(uuid != CELL0_UUID for uuid in existing):
            session.add(CellMapping(uuid=str(uuidlib.uuid4()), name="cell1",
                                    database_connection=cell1_url, transport_url=transport_url))
        await session.commit()
