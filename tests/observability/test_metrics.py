"""/metrics through HTTP: request and build counters move, queue depth rises and falls, role ports."""

from __future__ import annotations

import asyncio

import httpx

from novalite.observability import metrics
from tests.conftest import client_for
from tests.observability.support import sample
from tests.support.compute import boot, wait_status
from tests.support.process import free_port

POST_SERVERS = {"service": "compute", "route": "/compute/v2.1/servers", "method": "POST", "status": "202"}


async def _metrics(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_a_boot_moves_the_request_and_build_metrics(cloud, client):
    before = await _metrics(client)
    server_id = (await boot(client))["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    after = await _metrics(client)
    for name, labels in [
        ("novalite_api_request_duration_seconds_count", POST_SERVERS),
        ("novalite_build_duration_seconds_count", {"outcome": "ACTIVE"}),
        ("novalite_scheduler_decision_seconds_count", {}),
    ]:
        assert sample(after, name, **labels) - sample(before, name, **labels) == 1, name
    host = (await client.get(f"/compute/v2.1/servers/{server_id}")).json()["server"]["OS-EXT-SRV-ATTR:host"]
    topic = {"topic": f"compute.{host}", "kind": "cast"}
    assert sample(after, "novalite_bus_messages_total", direction="sent", **topic) > \
        sample(before, "novalite_bus_messages_total", direction="sent", **topic)
    assert sample(after, "novalite_bus_messages_total", direction="received", **topic) > \
        sample(before, "novalite_bus_messages_total", direction="received", **topic)
    assert sample(after, "novalite_instances", cell="cell1", vm_state="active") == 1
    assert sample(after, "novalite_compute_services", state="up") == 3
    assert sample(after, "novalite_placement_usage", resource_class="VCPU") == 1
    assert sample(after, "novalite_placement_capacity", resource_class="VCPU") == 3 * 16 * 4.0
    # Routes are templates, never raw ids: bounded label values.
    assert f"/servers/{server_id}" not in after
    assert 'route="/compute/v2.1/servers/{server_id}"' in after


async def test_a_failed_build_is_observed_as_error_and_metrics_can_be_switched_off(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(fake_driver={"fail_spawn": True}, metrics={"enabled": False},
                                                 compute={"fake_host_count": 1}))
    try:
        async with client_for(cloud) as client:
            before = await _metrics(client)
            server_id = (await boot(client))["server"]["id"]
            await wait_status(client, server_id, "ERROR")
            after = await _metrics(client)
        assert sample(after, "novalite_api_request_duration_seconds_count", **POST_SERVERS) == \
            sample(before, "novalite_api_request_duration_seconds_count", **POST_SERVERS)
        assert sample(after, "novalite_bus_messages_total") == sample(before, "novalite_bus_messages_total")
    finally:
        metrics.switch.on = True


async def test_the_queue_depth_of_a_slow_compute_rises_and_falls(cloud_factory, settings_factory, transport_url):
    """One compute that handles one message at a time and spawns slowly: builds wait in its queue."""
    cloud = await cloud_factory(settings_factory(
        compute={"fake_host_count": 1}, fake_driver={"spawn_delay": 0.3},
        bus={"executor_size": 1, "transport_url": transport_url}))
    async with client_for(cloud) as client:
        ids = [(await boot(client, name=f"vm{i}"))["server"]["id"] for i in range(5)]
        depths = []
        for _ in range(400):
            depth = sample(await _metrics(client), "novalite_bus_queue_depth", topic="compute.compute-1")
            depths.append(depth)
            if depth >= 2:
                break
            await asyncio.sleep(0.02)
        assert max(depths) >= 2, depths
        await asyncio.gather(*(wait_status(client, i, "ACTIVE", timeout=60) for i in ids))
        assert sample(await _metrics(client), "novalite_bus_queue_depth", topic="compute.compute-1") == 0


async def test_a_role_without_an_api_serves_metrics_health_and_readiness(cloud_factory, settings_factory):
    port = free_port()
    await cloud_factory(settings_factory(), all_in_one=True)  # databases and the services to serve
    role = await cloud_factory(settings_factory(metrics={"port": port}), roles={"scheduler"}, all_in_one=False)
    assert role.app is None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
        assert "api_database" in ready.json()["checks"]
        text = (await client.get("/metrics")).text
        assert "novalite_bus_messages_total" in text and "novalite_compute_services" in text


async def test_the_grafana_dashboard_uses_only_metrics_novalite_exports(cloud, client):
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "config" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"novalite_[a-z_]+", expr)}
    server_id = (await boot(client))["server"]["id"]
    await wait_status(client, server_id, "ACTIVE")
    exported = set(re.findall(r"^(novalite_[a-z_]+)", await _metrics(client), re.M))
    # Series that appear only once something happened (a timeout, a conflict, a dropped event).
    lazy = {"novalite_bus_call_timeouts_total", "novalite_events_dropped_total"}
    assert used - exported - lazy == set()
    assert len(used) >= 14


def test_only_concurrent_update_refusals_count_as_claim_conflicts():
    from novalite.services.placement.client import PlacementError

    before = metrics.PLACEMENT_CLAIM_CONFLICTS._value.get()
    metrics.count_claim_conflict(PlacementError(409, "generation changed", "placement.concurrent_update"))
    metrics.count_claim_conflict(PlacementError(409, "not enough VCPU", "placement.undefined_code"))
    assert metrics.PLACEMENT_CLAIM_CONFLICTS._value.get() - before == 1


async def test_a_build_failing_everywhere_is_observed_as_rescheduled_then_error(cloud_factory, settings_factory):
    cloud = await cloud_factory(settings_factory(fake_driver={"fail_spawn": True}, compute={"fake_host_count": 2}))
    async with client_for(cloud) as client:
        before = await _metrics(client)
        server_id = (await boot(client))["server"]["id"]
        await wait_status(client, server_id, "ERROR")
        after = await _metrics(client)
    count = "novalite_build_duration_seconds_count"
    assert sample(after, count, outcome="rescheduled") - sample(before, count, outcome="rescheduled") == 1
    assert sample(after, count, outcome="ERROR") - sample(before, count, outcome="ERROR") == 1
    assert sample(after, count, outcome="ACTIVE") == sample(before, count, outcome="ACTIVE")
