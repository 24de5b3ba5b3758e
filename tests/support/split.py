"""The scaled-out shape as real processes on 127.0.0.1: PostgreSQL, RabbitMQ, one process per role.

Used by tests/e2e/test_split_deployment.py and bench/split.py. Every database and vhost
is created uniquely for one deployment and removed by stop(), and every process is
stopped by its PID, so parallel runs never meet. The commands are the README's:
`novalite cell create` per cell, `novalite db upgrade`, then `novalite serve --role ...`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.support import identity
from tests.support.process import NovaliteProcess, free_port
from tests.support.services import RABBIT_URL, pg_admin, pg_url


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


class RoleProcess(NovaliteProcess):
    """A role without an HTTP port: ready once it logs so."""

    def start(self, ready_timeout: float = 60.0) -> "RoleProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "novalite", *self.args], env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.args} exited with {self.proc.returncode}: {self.log_text()[-3000:]}")
            if ") ready" in self.log_text():
                return self
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"{self.args} was not ready within {ready_timeout}s: {self.log_text()[-3000:]}")


@dataclass
class SplitDeployment:
    work_dir: Path
    schedulers: int = 2
    conductors_per_cell: int = 1
    computes_per_cell: int = 2
    cell_names: tuple[str, ...] = ("cell1", "cell2")
    api_workers: int = 2
    # "identity": the API process is the identity service, `db upgrade` makes the admin, and
    # every process calls placement as the service user `placement` (README "Scaling out").
    auth_strategy: str = "noauth2"
    admin_password: str = "split-admin-secret"
    service_password: str = "split-placement-secret"
    extra_env: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    processes: list[NovaliteProcess] = field(default_factory=list)
    databases: dict[str, str] = field(default_factory=dict)   # role -> URL
    vhosts: dict[str, str] = field(default_factory=dict)      # "top" or cell name -> transport URL
    api: NovaliteProcess | None = None
    placement: NovaliteProcess | None = None
    api_port: int = field(default_factory=free_port)  # known before the API starts: it is the auth URL

    @property
    def hosts(self) -> dict[str, list[str]]:
        return {cell: [f"{cell}-host{i + 1}" for i in range(self.computes_per_cell)] for cell in self.cell_names}

    def _db_name(self, role: str) -> str:
        return f"novalite_split_{self.tag}_{role}"

    def env(self, **options: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVALITE_")}
        env.update({
            "NOVALITE_SERVICE__DATA_DIR": str(self.work_dir),
            "NOVALITE_DATABASE__API_URL": self.databases["api"],
            "NOVALITE_DATABASE__PLACEMENT_URL": self.databases["placement"],
            "NOVALITE_DATABASE__CELL0_URL": self.databases["cell0"],
            # Ten processes (about 25 engines) share one PostgreSQL of 100 connections with
            # whatever else runs: one pooled connection per engine (three at a peak), and at
            # most 8 messages at once per consumer so that a burst queues in RabbitMQ instead.
            "NOVALITE_DATABASE__POOL_SIZE": "1", "NOVALITE_BUS__EXECUTOR_SIZE": "8",
            "NOVALITE_BUS__TRANSPORT_URL": self.vhosts["top"],
            "NOVALITE_API__AUTH_STRATEGY": self.auth_strategy, "NOVALITE_IMAGE__ENABLED": "false",
            "NOVALITE_COMPUTE__HEARTBEAT_INTERVAL": "2", "NOVALITE_FAKE_DRIVER__VCPUS": "64",
        })
        if self.placement is not None:
            env["NOVALITE_PLACEMENT__URL"] = f"{self.placement.url}/placement"
        if self.auth_strategy == "identity":
            env.update({"NOVALITE_IDENTITY__ADMIN_PASSWORD": self.admin_password,
                        "NOVALITE_PLACEMENT__AUTH_URL": f"http://127.0.0.1:{self.api_port}/identity",
                        "NOVALITE_PLACEMENT__USERNAME": "placement",
                        "NOVALITE_PLACEMENT__PASSWORD": self.service_password})
        env.update(self.extra_env)
        env.update({f"NOVALITE_{k.upper()}": v for k, v in options.items()})
        return env

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "novalite", *args], env=self.env(), capture_output=True,
                              text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"novalite {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def prepare(self) -> None:
        """Databases, vhosts, cell mappings and schemas: what an operator does once."""
        roles = ["api", "placement", "cell0", *self.cell_names]
        self.databases = {role: pg_url(self._db_name(role)) for role in roles}
        asyncio.run(pg_admin(*(f'CREATE DATABASE "{self._db_name(role)}"' for role in roles)))
        def add_vhost(name: str) -> None:
            vhost = f"novalite_split_{self.tag}_{name}"
            rabbitmqctl("add_vhost", vhost)
            self.vhosts[name] = RABBIT_URL.rstrip("/") + "/" + vhost
            rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

        with ThreadPoolExecutor(4) as pool:  # rabbitmqctl takes a second or two per call
            list(pool.map(add_vhost, ("top", *self.cell_names)))
        for cell in self.cell_names:
            self.cli("cell", "create", "--name", cell, "--database-url", self.databases[cell],
                     "--transport-url", self.vhosts[cell])
        self.cli("db", "upgrade")

    def _start_together(self, processes: list[NovaliteProcess]) -> None:
        """Start processes side by side (each takes seconds to import and connect)."""
        self.processes += processes
        with ThreadPoolExecutor(len(processes)) as pool:
            for future in [pool.submit(process.start) for process in processes]:
                future.result()

    def role(self, name: str, role: str, **options: str) -> RoleProcess:
        return RoleProcess(["serve", "--role", role], self.env(**options), self.work_dir / f"{name}.log", 0)

    def compute(self, cell: str, host: str, **options: str) -> RoleProcess:
        return self.role(host, "compute", compute__host=host, bus__transport_url=self.vhosts[cell], **options)

    def start(self) -> None:
        """Placement, API, schedulers and conductors; then the computes, which call placement and
        their conductor as they start (on RabbitMQ a topic must be served before it is called).
        Under identity the service user is made, through the API, before anything calls placement."""
        port = free_port()
        self.placement = NovaliteProcess(["serve", "--role", "placement"], self.env(service__port=str(port)),
                                         self.work_dir / "placement.log", port)
        self.api = NovaliteProcess(
            ["serve", "--role", "api"],
            self.env(service__port=str(self.api_port), service__api_workers=str(self.api_workers)),
            self.work_dir / "api.log", self.api_port)
        first: list[NovaliteProcess] = [self.placement, self.api]
        others = [self.role(f"scheduler{i + 1}", "scheduler") for i in range(self.schedulers)]
        others += [self.role(f"{cell}-conductor{i + 1}", "conductor", conductor__cell=cell)
                   for cell in self.cell_names for i in range(self.conductors_per_cell)]
        if self.auth_strategy == "identity":
            self._start_together(first)
            asyncio.run(identity.create_service_user(self.api.url, self.admin_password, "placement",
                                                     self.service_password))
        else:
            others = first + others
        self._start_together(others)
        self._start_together([self.compute(cell, host) for cell in self.cell_names for host in self.hosts[cell]])

    async def admin_token(self) -> str:
        """What the API and placement take as X-Auth-Token from the cloud's admin."""
        if self.auth_strategy != "identity":
            return "admin:admin"
        assert self.api is not None
        return await identity.password_token(self.api.url, "admin", self.admin_password, "admin")

    @contextmanager
    def running(self) -> Iterator["SplitDeployment"]:
        """Prepared and started for the block; everything stopped and removed after it."""
        try:
            self.prepare()
            self.start()
            yield self
        finally:
            self.stop()

    def stop(self) -> None:
        """Every process by its PID, then the vhosts and databases; each step whatever the others did."""
        def stop_one(process: NovaliteProcess) -> None:
            try:
                process.stop()
            except Exception:  # a process that ignores SIGTERM is killed
                process.kill()

        def delete_vhost(url: str) -> None:
            try:
                rabbitmqctl("delete_vhost", url.rsplit("/", 1)[1])
            except subprocess.SubprocessError:
                pass

        if self.processes:
            with ThreadPoolExecutor(len(self.processes)) as pool:
                list(pool.map(stop_one, self.processes))
        self.processes.clear()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(delete_vhost, list(self.vhosts.values())))
        if self.databases:
            asyncio.run(pg_admin(*(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'
                                   for url in self.databases.values())))
