"""`novalite cell create|list|discover-hosts`: the operator's Cells v2 commands.

Unlike Nova, a compute host is mapped to its cell by its conductor the moment it
registers, so `discover-hosts` is never a required step; it maps hosts that have a
service record but no host mapping (e.g. a cell database restored from a backup).
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from pathlib import Path
from contextlib import asynccontextmanager
from typing import AsyncIterator

import typer
from sqlalchemy import select
from sqlalchemy.engine import make_url
from yarl import URL

from novalite.cells import CellNotFound, CellRegistry, ensure_default_cells
from novalite.cli.app import ConfigOption, app, settings_or_exit
from novalite.config import Settings
from novalite.db.api_models import CellMapping
from novalite.db.cell_models import Service
from novalite.db.engine import make_engine, session_factory
from novalite.db.migrate import upgrade

cell_app = typer.Typer(help="Cells v2: cell mappings and host mappings.", no_args_is_help=True)
app.add_typer(cell_app, name="cell")

TRANSPORT_SCHEMES = ("memory", "amqp", "amqps", "rabbit")


@asynccontextmanager
async def _api_cells(settings: Settings) -> AsyncIterator[CellRegistry]:
    """The migrated API database with cell0 mapped, and a registry of its cells."""
    engine = make_engine(settings.api_db_url, settings.database.pool_size)
    sessions = session_factory(engine)
    cells = CellRegistry(sessions, settings.database.pool_size)
    try:
        await upgrade(engine, "api")
        await ensure_default_cells(sessions, settings.cell0_db_url, settings.cell1_db_url,
                                   settings.bus.transport_url, with_cell1=False)
        await cells.refresh()
        yield cells
    finally:
        await cells.dispose()
        await engine.dispose()


def _masked(url: str) -> str:
    """A URL fit to print: its password replaced."""
    if "://" not in url or "@" not in url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an amqp URL is not an SQLAlchemy URL
        parsed = URL(url)
        return str(parsed.with_password("***")) if parsed.password else url


@cell_app.command("create")
def cell_create(
    name: str = typer.Option(..., "--name", help="Cell name (conductor.cell refers to it)."),
    database_url: str = typer.Option(..., "--database-url", help="The cell's database, e.g. postgresql+asyncpg://..."),
    transport_url: str = typer.Option(..., "--transport-url", help="The cell's broker, e.g. amqp://u:p@host/cell1"),
    config: Path | None = ConfigOption,
) -> None:
    """Map a new cell and migrate its database (the API database and cell0 are prepared too)."""
    settings = settings_or_exit(config)
    scheme = transport_url.split(":", 1)[0].lower()
    if scheme not in TRANSPORT_SCHEMES:
        typer.echo(f"novalite: --transport-url scheme '{scheme}' is not one of {', '.join(TRANSPORT_SCHEMES)}",
                   err=True)
        raise typer.Exit(2)

    async def _create() -> str:
        async with _api_cells(settings) as cells:
            if any(cell.name == name for cell in cells.cells.values()):
                typer.echo(f"novalite: a cell named '{name}' exists already (see `novalite cell list`)", err=True)
                raise typer.Exit(1)
            # Migrate first: a database we cannot reach must not leave a mapping behind.
            engine = make_engine(database_url, settings.database.pool_size)
            try:
                await upgrade(engine, "cell")
            finally:
                await engine.dispose()
            cell_uuid = str(uuidlib.uuid4())
            async with cells.api_sessions() as session, session.begin():
                session.add(CellMapping(uuid=cell_uuid, name=name, database_connection=database_url,
                                        transport_url=transport_url))
            return cell_uuid

    typer.echo(f"cell {name} created: {asyncio.run(_create())}")


@cell_app.command("list")
def cell_list(config: Path | None = ConfigOption) -> None:
    """Every cell: name, uuid, database and transport URL (passwords hidden)."""
    settings = settings_or_exit(config)

    async def _list() -> list[CellMapping]:
        async with _api_cells(settings) as cells:
            return list(cells.cells.values())

    rows = [("name", "uuid", "database", "transport")]
    rows += [(c.name, c.uuid, _masked(c.database_connection), _masked(c.transport_url)) for c in asyncio.run(_list())]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo("  ".join(value.ljust(width) for value, width in zip(row, widths)) + "  " + row[3])


@cell_app.command("discover-hosts")
def discover_hosts(config: Path | None = ConfigOption) -> None:
    """Map every compute host found in a cell database that has no host mapping yet."""
    settings = settings_or_exit(config)

    async def _discover() -> list[tuple[str, str]]:
        mapped = []
        async with _api_cells(settings) as cells:
            for cell in cells.cells_with_hosts():
                async with cells.session(cell.uuid) as session:
                    hosts = (await session.scalars(select(Service.host).distinct().where(
                        Service.binary == "nova-compute", Service.deleted == 0))).all()
                for host in hosts:
                    try:
                        await cells.cell_for_host(host)
                    except CellNotFound:
                        if await cells.map_host(host, cell.uuid) == cell.uuid:
                            mapped.append((host, cell.name))
        return mapped

    found = asyncio.run(_discover())
    for host, cell_name in found:
        typer.echo(f"mapped {host} to {cell_name}")
    typer.echo(f"{len(found)} new host mapping(s)")
