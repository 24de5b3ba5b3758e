"""Finding the real PostgreSQL and RabbitMQ of this machine, or failing loudly in CI.

Outside CI a missing server skips the tests that need it, with the reason; with
CI=true it fails them, so a green CI always means the real engines were used.
"""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest

PG_HOST = os.environ.get("NOVALITE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("NOVALITE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("NOVALITE_TEST_PG_USER", "postgres")
RABBIT_URL = os.environ.get("NOVALITE_TEST_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _missing(what: str) -> None:
    message = f"{what} is not reachable"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}, and CI=true requires it", pytrace=False)
    pytest.skip(message)


def require_postgres() -> None:
    if not _port_open(PG_HOST, PG_PORT):
        _missing(f"PostgreSQL at {PG_HOST}:{PG_PORT}")


def require_rabbitmq() -> None:
    if not _port_open("127.0.0.1", 5672):
        _missing("RabbitMQ at 127.0.0.1:5672")


def pg_url(database: str, driver: str = "asyncpg") -> str:
    return f"postgresql+{driver}://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def pg_admin(*statements: str) -> None:
    """Run statements (CREATE/DROP DATABASE...) on the server's `postgres` database."""
    import asyncpg

    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def temporary_pg_database(prefix: str = "novalite_test") -> AsyncIterator[str]:
    """Create a uniquely named database, yield its asyncpg URL, drop it afterwards."""
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
