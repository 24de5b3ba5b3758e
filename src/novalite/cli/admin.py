"""`novalite db upgrade` and `novalite config show`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from novalite.bootstrap import Cloud
from novalite.cli.app import ConfigOption, app, settings_or_exit

db_app = typer.Typer(help="Database management.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")


@db_app.command("upgrade")
def db_upgrade(config: Path | None = ConfigOption) -> None:
    """Migrate the API, cell and placement databases to the newest schema."""
    settings = settings_or_exit(config)

    async def _upgrade() -> None:
        cloud = Cloud(settings=settings, roles={"api", "placement"}, migrate=True)
        try:
            await cloud.start()
        finally:
            await cloud.stop()

    asyncio.run(_upgrade())
    typer.echo("databases are at the newest schema")


@config_app.command("show")
def config_show(config: Path | None = ConfigOption) -> None:
    """Print the effective configuration (defaults, file, environment) as JSON."""
    settings = settings_or_exit(config)
    typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2, sort_keys=True))
