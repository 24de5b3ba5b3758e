"""`novalite all-in-one` and `novalite serve --role ...`: run services in this process."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any, Coroutine

import typer
import uvicorn

from novalite.bootstrap import ALL_ROLES, Cloud, parse_roles
from novalite.cli.app import ConfigOption, app, settings_or_exit
from novalite.config import Settings
from novalite.heap import settle_after_start
from novalite.services.api.foreground import touching_http_protocol
from novalite.logs import setup_logging

LOG = logging.getLogger(__name__)

# Longer than clients keep an idle connection (httpx: 5 s): otherwise the server may close a
# connection just as a client (placement's, across roles) sends on it, a spurious ReadError.
KEEP_ALIVE = 75


async def _run(cloud: Cloud) -> None:
    settings = cloud.settings
    await cloud.start()
    if cloud.all_in_one and cloud.runtime is not None:
        from novalite.services.identity.setup import prepare_all_in_one

        await prepare_all_in_one(settings, cloud.runtime.api_sessions, LOG.info)
    settle_after_start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = None
    serve_task = None
    if cloud.app is not None:
        gate = cloud.runtime.foreground if cloud.runtime is not None else None
        config = uvicorn.Config(cloud.app, host=settings.service.bind_host, port=settings.service.port,
                                log_config=None, access_log=False, lifespan="off",
                                timeout_keep_alive=KEEP_ALIVE,
                                http=touching_http_protocol(gate) if gate is not None else "auto")
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        serve_task = asyncio.create_task(server.serve())
        LOG.info("novalite (%s) listening on http://%s:%d", ",".join(sorted(cloud.roles)),
                 settings.service.bind_host, settings.service.port)
    else:  # no port to poll: this line is how a supervisor (or a test) knows the roles serve
        LOG.info("novalite (%s) ready", ",".join(sorted(cloud.roles)))
    try:
        if serve_task is not None:
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({serve_task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        else:
            await stop.wait()
    finally:
        if server is not None:
            server.should_exit = True
            if serve_task is not None:
                await serve_task
        await cloud.stop()


def _launch(settings: Settings, roles: set[str], all_in_one: bool, migrate: bool) -> None:
    setup_logging(settings.logging.level, settings.logging.format)
    if settings.service.api_workers > 1 and not all_in_one:
        if roles <= {"api", "placement"}:
            _launch_workers(settings, roles, migrate)
            return
        LOG.warning("service.api_workers applies to a process serving only api and/or placement; "
                    "running one worker")
    run_loop(_run(Cloud(settings=settings, roles=roles, all_in_one=all_in_one, migrate=migrate)))


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed: the all-in-one is one event loop doing everything,
    and uvloop's loop is about twice as cheap per task switch and future as asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _launch_workers(settings: Settings, roles: set[str], migrate: bool) -> None:
    """uvicorn's worker processes, each building its own Cloud (novalite/asgi.py)."""
    from novalite.asgi import ROLES_ENV

    if migrate:  # once, here: workers starting together must not race to migrate
        async def _migrate() -> None:
            cloud = Cloud(settings=settings, roles={"api", "placement"}, migrate=True)
            try:
                await cloud.start()
            finally:
                await cloud.stop()

        asyncio.run(_migrate())
    os.environ[ROLES_ENV] = ",".join(sorted(roles))
    os.environ["NOVALITE_SERVICE__PORT"] = str(settings.service.port)  # --port, for the links workers write
    LOG.info("novalite (%s) listening on http://%s:%d with %d workers", os.environ[ROLES_ENV],
             settings.service.bind_host, settings.service.port, settings.service.api_workers)
    uvicorn.run("novalite.asgi:app", host=settings.service.bind_host, port=settings.service.port,
                workers=settings.service.api_workers, log_config=None, access_log=False, lifespan="on",
                timeout_keep_alive=KEEP_ALIVE)


@app.command("all-in-one")
def all_in_one(
    config: Path | None = ConfigOption,
    port: int | None = typer.Option(None, "--port", "-p", help="Port serving every API."),
    data_dir: Path | None = typer.Option(None, "--data-dir", "-d", help="Where the SQLite databases live."),
    host: str | None = typer.Option(None, "--host", help="Address to listen on."),
) -> None:
    """The whole cloud in one process: SQLite files, in-memory bus, fake computes by default."""
    settings = settings_or_exit(config, **{"service.port": port, "service.bind_host": host})
    if data_dir is not None:
        settings.service.data_dir = data_dir.expanduser().resolve()
    _launch(settings, set(ALL_ROLES), all_in_one=True, migrate=True)


@app.command("serve")
def serve(
    role: str = typer.Option(..., "--role", "-r", help=f"Comma-separated subset of: {', '.join(ALL_ROLES)}."),
    config: Path | None = ConfigOption,
    port: int | None = typer.Option(None, "--port", "-p"),
    migrate: bool = typer.Option(False, "--migrate/--no-migrate", help="Migrate databases at start."),
) -> None:
    """Run some roles in this process (the scaled-out shape)."""
    try:
        roles = parse_roles(role)
    except ValueError as exc:
        typer.echo(f"novalite: {exc}", err=True)
        raise typer.Exit(2) from None
    settings = settings_or_exit(config, **{"service.port": port})
    _launch(settings, roles, all_in_one=False, migrate=migrate)
