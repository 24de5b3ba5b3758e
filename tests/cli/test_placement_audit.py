"""`novalite placement audit [--heal]` through the CLI against a cloud's databases."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from novalite.bootstrap import ALL_ROLES, Cloud
from novalite.cli import app
from novalite.context import RequestContext
from tests.conftest import client_for
from tests.support.databases import database_env
from tests.support.compute import boot, wait_status

ORPHAN = "0badc0de-0000-4000-8000-000000000001"


async def _cloud_with_an_orphan(settings) -> str:
    cloud = Cloud(settings=settings, roles=set(ALL_ROLES), all_in_one=True)
    await cloud.start()
    try:
        async with client_for(cloud) as client:
            server_id = (await boot(client, name="kept"))["server"]["id"]
            server = await wait_status(client, server_id, "ACTIVE")
        node = next(c.node_uuid for c in cloud.computes if c.host == server["OS-EXT-SRV-ATTR:host"])
        await cloud.runtime.placement.put_allocations(RequestContext.admin(), ORPHAN, {
            "allocations": {node: {"resources": {"VCPU": 2, "MEMORY_MB": 256}}},
            "project_id": "p", "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"})
        return server_id
    finally:
        await cloud.stop()


def test_audit_finds_and_heals_only_orphans(tmp_path, monkeypatch, settings_factory, database_urls):
    server_id = asyncio.run(_cloud_with_an_orphan(settings_factory()))
    monkeypatch.setenv("NOVALITE_SERVICE__DATA_DIR", str(tmp_path))
    for name, value in database_env(database_urls).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    found = runner.invoke(app, ["placement", "audit"])
    assert found.exit_code == 3, found.output
    assert ORPHAN in found.output and server_id not in found.output and "VCPU=2" in found.output
    healed = runner.invoke(app, ["placement", "audit", "--heal"])
    assert healed.exit_code == 4 and ORPHAN in healed.output
    clean = runner.invoke(app, ["placement", "audit"])
    assert clean.exit_code == 0 and "no orphaned allocations" in clean.output
