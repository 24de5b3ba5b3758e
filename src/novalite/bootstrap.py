"""Wire the configured shape: which roles run here, on which databases and which bus.

The all-in-one and the scaled-out shapes are the same code; only this wiring differs
(the in-memory bus and SQLite files, or RabbitMQ and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any
from dataclasses import dataclass, field

from fastapi import FastAPI

from novalite.auth import NoAuthAuthenticator
from novalite.bus import create_bus
from novalite.bus.base import Consumer
from novalite.bus.foreground import ForegroundGate
from novalite.cell_bus import BusPool, CellRoutedBus
from novalite.cells import CellRegistry, ensure_default_cells
from novalite.config import Settings
from novalite.db.engine import make_engine, session_factory
from novalite.db.migrate import upgrade
from novalite.drivers import load_driver
from novalite.events.wiring import EventsRuntime
from novalite.flavors_seed import seed_flavors
from novalite.logs import set_identity
from novalite.observability import metrics
from novalite.observability.http import MetricsServer
from novalite.runtime import Runtime
from novalite.services.identity.authenticator import authenticator_for

LOG = logging.getLogger(__name__)

ALL_ROLES = ("api", "placement", "scheduler", "conductor", "compute")


def parse_roles(text: str) -> set[str]:
    roles = {r.strip() for r in text.split(",") if r.strip()}
    unknown = roles - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; choose from {', '.join(ALL_ROLES)}")
    return roles


def compute_hosts(settings: Settings, all_in_one: bool) -> list[str]:
    if settings.compute.host:
        return [settings.compute.host]
    if all_in_one and settings.compute.driver == "fake":
        return [f"compute-{i + 1}" for i in range(settings.compute.fake_host_count)]
    return [socket.gethostname()]


def _log_failure(task: "asyncio.Task[Any]") -> None:
    if not task.cancelled() and task.exception() is not None:
        LOG.error("start-up work failed: %r", task.exception(), exc_info=task.exception())


@dataclass
class Cloud:
    """The services of one process, started and stopped together."""

    settings: Settings
    roles: set[str]
    all_in_one: bool = False
    migrate: bool = True
    runtime: Runtime | None = None
    app: FastAPI | None = None
    computes: list = field(default_factory=list)
    conductor: object | None = None
    _consumers: list[Consumer] = field(default_factory=list)
    _events: EventsRuntime = field(default_factory=EventsRuntime)
    _metrics_server: MetricsServer | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    _periodic: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        settings = self.settings
        bus = create_bus(settings.bus.transport_url, settings.bus.call_timeout, settings.bus.executor_size)
        runtime = self.runtime = Runtime(settings=settings, bus=bus, authenticator=NoAuthAuthenticator())
        if self.roles & {"api", "placement"} and self.roles & {"scheduler", "conductor", "compute"}:
            runtime.foreground = bus.foreground = ForegroundGate(settings.bus.http_priority_cast_interval)
        metrics.switch.on = settings.metrics.enabled
        set_identity(",".join(sorted(self.roles)), settings.compute.host or None)
        # Our own identity keeps its users and tokens in the API database: placement needs it too.
        needs_api_db = bool(self.roles & {"api", "scheduler", "conductor"}) or (
            "placement" in self.roles and settings.api.auth_strategy == "identity")
        if needs_api_db:
            await self._open_api_db(runtime)
        if self.roles & {"api", "placement"}:  # only the HTTP APIs authenticate anyone
            runtime.authenticator = authenticator_for(settings, runtime.api_sessions)
        if "placement" in self.roles or not settings.placement.url:
            await self._open_placement_db(runtime)
        runtime.placement = self._placement_client(runtime)
        if runtime.cells is not None and self.roles & {"api", "conductor"}:
            # These roles reach computes of every cell, each on its cell's own broker.
            bus = runtime.bus = CellRoutedBus(BusPool(bus, settings.bus.transport_url), runtime.cells)
        await bus.start()
        await self._events.start(runtime, self.roles)  # before any service: their first events count
        if "scheduler" in self.roles:
            from novalite.services.scheduler import SchedulerManager

            self._consumers.append(await bus.serve("scheduler", SchedulerManager(runtime)))
        if "conductor" in self.roles:
            await self._start_conductors(runtime)
        if "compute" in self.roles:
            from novalite.services.compute import ComputeManager

            for host in compute_hosts(settings, self.all_in_one):
                manager = ComputeManager(runtime, host, load_driver(settings, host))
                await manager.start()
                self.computes.append(manager)
        if self.all_in_one and self.conductor is not None:
            from novalite.services.conductor.reconcile import clean_up_after_restart, resend_builds

            pending = await clean_up_after_restart(self.conductor)
            if settings.image.enabled:
                from novalite.services.image.interrupted import requeue_interrupted_uploads

                await requeue_interrupted_uploads(runtime.require_api_db(), settings.service.data_dir)
            task = asyncio.create_task(resend_builds(self.conductor, pending))
            task.add_done_callback(_log_failure)
            self._background.append(task)
        if self.roles & {"api", "placement"}:
            from novalite.services.api.app import build_app

            self.app = build_app(runtime, self.roles)
        elif settings.metrics.port:
            self._metrics_server = MetricsServer(runtime, settings.service.bind_host, settings.metrics.port)
            await self._metrics_server.start()

    async def _start_conductors(self, runtime: Runtime) -> None:
        """Serve `conductor` on each served cell's bus, and on the top-level bus for a super-conductor."""
        from novalite.services.conductor import ConductorManager
        from novalite.services.conductor.stuck_builds import StuckBuildMonitor

        options, cells = self.settings.conductor, runtime.require_cells()
        served = cells.cells_with_hosts()
        if options.cell:
            served = [cell for cell in served if cell.name == options.cell]
            if not served:
                raise ValueError(f"[conductor] cell = '{options.cell}' names no cell (see `novalite cell list`)")
        assert isinstance(runtime.bus, CellRoutedBus)
        pool = runtime.bus.pool
        by_url: dict[str, list[str]] = {}
        for cell in served:
            url = pool.top_url if pool.is_top(cell.transport_url) else cell.transport_url
            by_url.setdefault(url, []).append(cell.uuid)
        if options.top_level:
            by_url.setdefault(pool.top_url, [])
        for url, cell_uuids in by_url.items():
            # New compute hosts on this bus are mapped to its cell; a bus shared by cells maps to the first.
            manager = ConductorManager(runtime, cell_uuids[0] if len(cell_uuids) == 1 else None)
            self._consumers.append(await (await pool.get(url)).serve("conductor", manager))
            self.conductor = self.conductor or manager
        assert self.conductor is not None
        monitor = StuckBuildMonitor(self.conductor, [cell.uuid for cell in served], top_level=options.top_level)
        self._periodic.append(asyncio.create_task(monitor.run()))

    async def _open_api_db(self, runtime: Runtime) -> None:
        settings = self.settings
        runtime.api_engine = make_engine(settings.api_db_url, settings.database.pool_size, settings.database.echo)
        runtime.api_sessions = session_factory(runtime.api_engine)
        if self.migrate:
            await upgrade(runtime.api_engine, "api")
            await ensure_default_cells(runtime.api_sessions, settings.cell0_db_url, settings.cell1_db_url,
                                       settings.bus.transport_url)
            await seed_flavors(runtime.api_sessions)
        runtime.cells = CellRegistry(runtime.api_sessions, settings.database.pool_size, settings.database.echo)
        await runtime.cells.refresh()
        if self.migrate:
            await runtime.cells.migrate_all()

    async def _open_placement_db(self, runtime: Runtime) -> None:
        from novalite.services.placement.service import prepare_placement_database

        settings = self.settings
        runtime.placement_engine = make_engine(settings.placement_db_url, settings.database.pool_size,
                                               settings.database.echo)
        runtime.placement_sessions = session_factory(runtime.placement_engine)
        if self.migrate:
            await prepare_placement_database(runtime.placement_engine)

    def _placement_client(self, runtime: Runtime):  # type: ignore[no-untyped-def]
        if runtime.placement_sessions is not None and not self.settings.placement.url:
            from novalite.services.placement.local_client import LocalPlacementClient

            return LocalPlacementClient(runtime.placement_sessions)
        from novalite.service_auth import placement_service_auth
        from novalite.services.placement.http_client import HttpPlacementClient

        return HttpPlacementClient(self.settings.placement.url, placement_service_auth(self.settings))

    async def wait_background(self) -> None:
        """Wait for start-up work that runs after serving began (the restart reconcile)."""
        if self._background:
            await asyncio.gather(*self._background)

    async def stop(self) -> None:
        for task in self._background + self._periodic:
            task.cancel()
        await asyncio.gather(*self._background, *self._periodic, return_exceptions=True)
        for compute in self.computes:
            await compute.stop()
        for consumer in self._consumers:
            await consumer.stop()
        if self._metrics_server is not None:
            await self._metrics_server.stop()
        await self._events.stop()
        runtime = self.runtime
        if runtime is None:
            return
        await runtime.bus.close()
        close_authenticator = getattr(runtime.authenticator, "close", None)
        if close_authenticator is not None:
            await close_authenticator()
        if runtime.placement is not None:
            await runtime.placement.close()
        if runtime.cells is not None:
            await runtime.cells.dispose()
        for engine in (runtime.api_engine, runtime.placement_engine):
            if engine is not None:
                await engine.dispose()
