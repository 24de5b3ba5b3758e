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
    """Migrate the API, cell and placement databases to the newest schema.

    With auth_strategy "identity" it also makes the default roles and the 'admin' user, as the
    all-in-one does at its first start: a split deployment has no first start of its own.
    """
    settings = settings_or_exit(config)

    async def _upgrade() -> str | None:
        from novalite.services.identity.setup import ensure_admin

        cloud = Cloud(settings=settings, roles={"api", "placement"}, migrate=True)
        try:
            await cloud.start()
            if settings.api.auth_strategy != "identity":
                return None
            assert cloud.runtime is not None and cloud.runtime.api_sessions is not None
            return (await ensure_admin(cloud.runtime.api_sessions, settings.identity.admin_password)).password
        finally:
            await cloud.stop()

    generated = asyncio.run(_upgrade())
    typer.echo("databases are at the newest schema")
    if generated:
        typer.echo(f"created user 'admin' in project 'admin' with password {generated} (shown once; "
                   "set [identity] admin_password to choose it)")


@config_app.command("show")
def config_show(config: Path | None = ConfigOption) -> None:
    """Print the effective configuration (defaults, file, environment) as JSON."""
    settings = settings_or_exit(config)
    typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2, sort_keys=True))
