"""`novalite status` and `novalite events` against a served cloud: they read HTTP, not databases."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import update
from typer.testing import CliRunner

from novalite.cli import app
from novalite.db.cell_models import Instance
from novalite.db.types import utcnow
from tests.conftest import client_for
from tests.observability.support import serving
from tests.support.compute import SERVERS, boot, wait_status


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


async def _wait_task(client, server_id: str, task_state: str) -> None:
    for _ in range(600):
        server = (await client.get(f"{SERVERS}/{server_id}")).json()["server"]
        if server["OS-EXT-STS:task_state"] == task_state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"server {server_id} never reached task_state {task_state}")


async def test_status_shows_a_disabled_service_and_a_stuck_build(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(fake_driver={"spawn_delay": 120}, compute={"fake_host_count": 2}))
    async with serving(cloud.app) as base, client_for(cloud) as client:
        services = (await client.get("/compute/v2.1/os-services", params={"host": "compute-2"})).json()["services"]
        disabled = await client.put(f"/compute/v2.1/os-services/{services[0]['id']}",
                                    json={"status": "disabled", "disabled_reason": "memory test"})
        assert disabled.status_code == 200, disabled.text
        stuck_id = (await boot(client, name="stuck"))["server"]["id"]
        await _wait_task(client, stuck_id, "spawning")
        fresh_id = (await boot(client, name="fresh"))["server"]["id"]
        await _wait_task(client, fresh_id, "spawning")
        # The spawn hangs; make it look two hours old and silent, as a lost build would.
        long_ago = utcnow() - dt.timedelta(hours=2)
        cell1 = next(c for c in cloud.runtime.cells.cells_with_hosts())
        async with cloud.runtime.cells.session(cell1.uuid) as session, session.begin():
            await session.execute(update(Instance).where(Instance.uuid == stuck_id)
                                  .values(created_at=long_ago, updated_at=long_ago))
        result = await asyncio.to_thread(_run, "status", "--url", base, "--token", "admin:admin")
    assert result.exit_code == 0, result.output
    out = result.output
    services_part = out.split("Bus queues")[0]
    disabled_row = next(line for line in services_part.splitlines() if "compute-2" in line)
    assert "disabled" in disabled_row and "memory test" in disabled_row and "cell1" in disabled_row
    assert "up" in disabled_row and "ago" in disabled_row
    enabled_row = next(line for line in services_part.splitlines() if "compute-1" in line)
    assert "enabled" in enabled_row and "memory test" not in enabled_row
    assert "compute.compute-1" in out.split("Bus queues")[1]
    builds = out.split("Builds in progress")[1].split("Capacity")[0]
    stuck_row = next(line for line in builds.splitlines() if stuck_id in line)
    fresh_row = next(line for line in builds.splitlines() if fresh_id in line)
    assert "STUCK" in stuck_row and "STUCK" not in fresh_row
    assert "1 build(s) stuck" in out
    capacity = out.split("Capacity per availability zone")[1]
    vcpu = next(line for line in capacity.splitlines() if "VCPU" in line)
    assert "nova" in vcpu and "2" in vcpu.split() and "128" in vcpu.split()


async def test_events_follow_prints_a_servers_events(cloud):
    async with serving(cloud.app) as base, client_for(cloud) as client:
        server_id = (await boot(client))["server"]["id"]
        await wait_status(client, server_id, "ACTIVE")
        # Without --follow: what the stream remembers, then exit.
        result = await asyncio.to_thread(_run, "events", "--url", base, "--token", "admin:admin",
                                         "--server", server_id)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if server_id in line]
    assert "action create started" in lines[0]
    assert any("ACTIVE vm_state=active" in line for line in lines)
    assert "compute__do_build_and_run_instance finish Success" in lines[-1]


async def test_events_follow_streams_until_count(cloud):
    async with serving(cloud.app) as base, client_for(cloud) as client:
        follower = asyncio.create_task(asyncio.to_thread(
            _run, "events", "--follow", "--url", base, "--token", "admin:admin", "--kind", "state", "-n", "2"))
        hub = cloud.runtime.extras["events"]
        for _ in range(600):  # subscribed: from here on it misses nothing
            if hub.subscriber_count:
                break
            await asyncio.sleep(0.05)
        server_id = (await boot(client))["server"]["id"]
        result = await asyncio.wait_for(follower, 60)
    assert result.exit_code == 0, result.output
    assert result.output.count(server_id) == 2
    assert "BUILD" in result.output and "ACTIVE" in result.output


async def test_status_says_why_it_cannot_reach_the_cloud():
    from tests.support.process import free_port

    result = await asyncio.to_thread(_run, "status", "--url", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 1
    assert "cannot reach" in result.output
