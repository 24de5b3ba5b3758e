"""The root command and the registration of each command group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from novalite.config import ConfigError, Settings, load_settings

app = typer.Typer(
    name="novalite",
    help="novalite: OpenStack Nova's architecture in one asyncio codebase.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ConfigOption = typer.Option(None, "--config", "-c", envvar="NOVALITE_CONFIG", help="TOML configuration file.")


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    """Load settings; print the operator-facing reason and exit 2 when they are invalid."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.echo(f"novalite: {exc}", err=True)
        raise typer.Exit(2) from None
    for dotted, value in overrides.items():
        if value is None:
            continue
        section, _, option = dotted.partition(".")
        setattr(getattr(settings, section), option, value)
    return settings
