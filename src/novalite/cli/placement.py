"""`novalite placement audit [--heal]`: allocations whose consumer no longer exists.

The Nova operator's most common placement chore. Exit codes follow
`nova-manage placement audit`: 0 nothing found, 3 found (not removed), 4 removed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from novalite.cells import CellRegistry
from novalite.cli.app import ConfigOption, app, settings_or_exit
from novalite.config import Settings
from novalite.db.engine import make_engine, session_factory
from novalite.services.conductor.reconcile import live_consumers
from novalite.services.placement.audit import OrphanAllocation, heal, holding_consumers

placement_app = typer.Typer(help="Placement maintenance.", no_args_is_help=True)
app.add_typer(placement_app, name="placement")

FOUND, REMOVED = 3, 4


async def _audit(settings: Settings, remove: bool) -> list[OrphanAllocation]:
    api_engine = make_engine(settings.api_db_url)
    placement_engine = make_engine(settings.placement_db_url)
    cells = CellRegistry(session_factory(api_engine))
    try:
        await cells.refresh()
        placement = session_factory(placement_engine)
        holding = await holding_consumers(placement)  # before the live set: see holding_consumers
        live, _ = await live_consumers(session_factory(api_engine), cells)
        return await heal(placement, live, dry_run=not remove, among=holding)
    finally:
        await cells.dispose()
        await api_engine.dispose()
        await placement_engine.dispose()


@placement_app.command("audit")
def audit(
    config: Path | None = ConfigOption,
    remove: bool = typer.Option(False, "--heal", help="Remove the allocations found."),
) -> None:
    """List (and with --heal remove) allocations held by consumers that no longer exist."""
    settings = settings_or_exit(config)
    orphans = asyncio.run(_audit(settings, remove))
    console = Console()
    if not orphans:
        console.print("no orphaned allocations")
        return
    table = Table(title="orphaned allocations" + (" (removed)" if remove else ""))
    table.add_column("consumer", no_wrap=True, min_width=36)
    table.add_column("provider", no_wrap=True, min_width=36)
    table.add_column("resources")
    for orphan in orphans:
        for provider, resources in orphan.allocations.items():
            table.add_row(orphan.consumer_uuid, provider, ", ".join(f"{rc}={n}" for rc, n in sorted(resources.items())))
    console.print(table)
    if not remove:
        console.print("run again with --heal to remove them")
    raise typer.Exit(REMOVED if remove else FOUND)
