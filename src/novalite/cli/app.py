"""The root command and the registration of each command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="novalite",
    help="novalite: OpenStack Nova's architecture in one asyncio codebase.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigOption = typer.Option(None, "--config", "-c", envvar="NOVALITE_CONFIG",
                            help="TOML configuration file.")
