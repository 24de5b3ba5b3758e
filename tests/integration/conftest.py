"""Two cells on PostgreSQL and RabbitMQ, every role a Cloud of its own (in this process).

Each role gets the buses and database pools it would have as a process: the API and
scheduler on the top-level vhost, each cell's conductor and computes on the cell's
vhost, every database its own PostgreSQL database. Cells are made the operator's way,
with `novalite cell create` (a real subprocess). Databases and vhosts are unique to
the test and removed afterwards, so parallel runs never meet.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

import pytest

from novalite.bootstrap import Cloud
from novalite.config import Settings
from tests.bus.conftest import add_vhost, rabbitmqctl
from tests.support.services import require_postgres, require_rabbitmq, temporary_pg_database


@dataclass
class Deployment:
    """The URLs of one test deployment and the Clouds started on them."""

    api_url: str
    placement_url: str
    cell0_url: str
    top_transport: str
    cells: dict[str, tuple[str, str]]  # name -> (database URL, transport URL)
    clouds: list[Cloud] = field(default_factory=list)

    def settings(self, **sections: dict[str, Any]) -> Settings:
        # Nine Clouds of about five engines each share PostgreSQL with whatever else runs:
        # one pooled connection per engine (three at a peak).
        base: dict[str, dict[str, Any]] = {
            "database": {"api_url": self.api_url, "placement_url": self.placement_url,
                         "cell0_url": self.cell0_url, "pool_size": 1},
            "bus": {"transport_url": self.top_transport, "call_timeout": 30.0},
            "compute": {"heartbeat_interval": 1.0, "resource_report_interval": 5.0},
            "api": {"auth_strategy": "noauth2"},
            "image": {"enabled": False},
        }
        for name, values in sections.items():
            base.setdefault(name, {}).update(values)
        return Settings(**base)

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVALITE_")}
        env.update({"NOVALITE_DATABASE__API_URL": self.api_url, "NOVALITE_DATABASE__CELL0_URL": self.cell0_url,
                    "NOVALITE_DATABASE__PLACEMENT_URL": self.placement_url,
                    "NOVALITE_BUS__TRANSPORT_URL": self.top_transport})
        return env

    async def start(self, roles: set[str], **sections: dict[str, Any]) -> Cloud:
        cloud = Cloud(settings=self.settings(**sections), roles=roles, migrate=False)
        self.clouds.append(cloud)
        await cloud.start()
        return cloud

    async def start_cell(self, name: str, hosts: list[str], **sections: dict[str, Any]) -> list[Cloud]:
        """The cell's conductor (also a super-conductor), then its computes on the cell's vhost."""
        started = [await self.start({"conductor"}, **merged(sections, conductor={"cell": name}))]
        transport = self.cells[name][1]
        for host in hosts:
            started.append(await self.start({"compute"}, **merged(sections, compute={"host": host},
                                                                   bus={"transport_url": transport})))
        return started

    async def stop(self) -> None:
        for cloud in reversed(self.clouds):
            await cloud.stop()
        self.clouds.clear()


def merged(sections: dict[str, dict[str, Any]], **more: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = {name: dict(values) for name, values in sections.items()}
    for name, values in more.items():
        result.setdefault(name, {}).update(values)
    return result


def novalite_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "novalite", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"novalite {' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture
async def deployment() -> AsyncIterator[Deployment]:
    """API, placement, cell0 and two cells, migrated; nothing started yet."""
    require_postgres()
    require_rabbitmq()
    tag = uuid.uuid4().hex[:8]
    vhosts = [f"novalite_it_{tag}_{name}" for name in ("top", "cell1", "cell2")]
    async with AsyncExitStack() as stack:
        urls = [await stack.enter_async_context(temporary_pg_database(f"novalite_it_{name}"))
                for name in ("api", "placement", "cell0", "cell1", "cell2")]
        transports = [await asyncio.to_thread(add_vhost, vhost) for vhost in vhosts]
        try:
            deployment = Deployment(api_url=urls[0], placement_url=urls[1], cell0_url=urls[2],
                                    top_transport=transports[0],
                                    cells={"cell1": (urls[3], transports[1]), "cell2": (urls[4], transports[2])})
            env = deployment.cli_env()
            for name, (db_url, transport) in deployment.cells.items():
                await asyncio.to_thread(novalite_cli, env, "cell", "create", "--name", name,
                                        "--database-url", db_url, "--transport-url", transport)
            await asyncio.to_thread(novalite_cli, env, "db", "upgrade")
            try:
                yield deployment
            finally:
                await deployment.stop()
        finally:
            for vhost in vhosts:
                await asyncio.to_thread(rabbitmqctl, "delete_vhost", vhost)
