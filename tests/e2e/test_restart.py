"""kill -9 in the middle of a burst of boots: after a restart nothing is stuck and nothing leaks."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.databases import database_env
from tests.support.process import all_in_one

HEADERS = {"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "compute 2.100"}
PLACEMENT = {"X-Auth-Token": "admin:admin", "OpenStack-API-Version": "placement 1.39"}


def _boot(url: str, i: int) -> str | None:
    body = {"server": {"name": f"r{i}", "imageRef": "img", "flavorRef": "1", "networks": "none"}}
    try:
        response = httpx.post(f"{url}/compute/v2.1/servers", json=body, headers=HEADERS, timeout=10)
    except httpx.HTTPError:
        return None
    return response.json()["server"]["id"] if response.status_code == 202 else None


def _servers(url: str) -> list[dict]:
    response = httpx.get(f"{url}/compute/v2.1/servers/detail", headers=HEADERS, timeout=30)
    return response.json()["servers"]


def _placement_usage(url: str) -> dict[str, int]:
    providers = httpx.get(f"{url}/placement/resource_providers", headers=PLACEMENT, timeout=30).json()
    totals: dict[str, int] = {}
    for rp in providers["resource_providers"]:
        usages = httpx.get(f"{url}/placement/resource_providers/{rp['uuid']}/usages", headers=PLACEMENT,
                           timeout=30).json()["usages"]
        for rc, used in usages.items():
            totals[rc] = totals.get(rc, 0) + used
    return totals


def _unfinished_events(url: str, server_id: str) -> list[str]:
    """Events of the server's actions that never got a result."""
    base = f"{url}/compute/v2.1/servers/{server_id}/os-instance-actions"
    unfinished = []
    for action in httpx.get(base, headers=HEADERS, timeout=30).json()["instanceActions"]:
        detail = httpx.get(f"{base}/{action['request_id']}", headers=HEADERS, timeout=30).json()
        unfinished += [e["event"] for e in detail["instanceAction"]["events"] if not e["result"]]
    return unfinished


def test_kill_dash_nine_mid_burst_then_restart_reconciles(tmp_path, database_urls):
    databases = database_env(database_urls)
    env = {"NOVALITE_FAKE_DRIVER__SPAWN_DELAY": "0.7", "NOVALITE_COMPUTE__HEARTBEAT_INTERVAL": "1", **databases}
    first = all_in_one(tmp_path, env).start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            accepted = [i for i in pool.map(lambda i: _boot(first.url, i), range(40)) if i]
        # Kill once the first builds are done: the rest are spawning or still queued. Waiting for that
        # rather than sleeping a fixed time keeps the mix whatever the machine's load.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(s["status"] == "ACTIVE" for s in _servers(first.url)):
            time.sleep(0.05)
    finally:
        first.kill()
    assert len(accepted) >= 20, first.log_text()[-2000:]

    second = all_in_one(tmp_path, {"NOVALITE_COMPUTE__HEARTBEAT_INTERVAL": "1", **databases}).start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            servers = _servers(second.url)
            if all(s["status"] in ("ACTIVE", "ERROR") for s in servers):
                break
            time.sleep(0.2)
        by_id = {s["id"]: s for s in servers}
        assert set(accepted) <= set(by_id), "an accepted server vanished"
        statuses = {s["status"] for s in servers}
        assert statuses <= {"ACTIVE", "ERROR"}, statuses
        for server in servers:
            if server["status"] == "ERROR":
                assert "interrupted" in server["fault"]["message"], server["fault"]
                assert _unfinished_events(second.url, server["id"]) == []
        active = sum(1 for s in servers if s["status"] == "ACTIVE")
        assert active > 0
        usage = _placement_usage(second.url)
        assert usage.get("VCPU", 0) == active and usage.get("MEMORY_MB", 0) == 512 * active, (usage, active)
    finally:
        second.stop()
