"""The `novalite` command: one typer app, sub-commands in their own modules."""

from __future__ import annotations

from novalite.cli import admin, cells, events, placement, run, status  # noqa: F401  (registers the commands)
from novalite.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
