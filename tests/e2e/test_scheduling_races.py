"""The late group check: a member placed by another scheduler meanwhile is seen after the claim."""

from __future__ import annotations

from novalite.services.scheduler import groups
from tests.conftest import client_for
from tests.support.compute import SERVERS, total_usage, wait_status


async def test_claim_that_breaks_anti_affinity_is_released(cloud_factory, settings_factory, monkeypatch):
    cloud = await cloud_factory(settings_factory(compute={"fake_host_count": 1}))
    await cloud.wait_background()
    async with client_for(cloud) as client:
        created = await client.post("/compute/v2.1/os-server-groups",
                                    json={"server_group": {"name": "web", "policy": "anti-affinity"}})
        group = created.json()["server_group"]["id"]

        async def boot(name: str) -> dict:
            body = {"server": {"name": name, "imageRef": "cirros-0.6", "flavorRef": "1", "networks": "none"},
                    "os:scheduler_hints": {"group": group}}
            response = await client.post(SERVERS, json=body)
            assert response.status_code == 202, response.text
            return await wait_status(client, response.json()["server"]["id"], "ACTIVE", "ERROR")

        first = await boot("first")
        assert first["status"] == "ACTIVE"

        real = groups.load_group
        calls = []

        async def stale_then_real(*args, **kwargs):
            # The first look is what a second scheduler process saw before `first` was claimed.
            loaded = await real(*args, **kwargs)
            calls.append(1)
            if len(calls) == 1 and loaded is not None:
                loaded[0].members_on = {}
            return loaded

        monkeypatch.setattr(groups, "load_group", stale_then_real)
        second = await boot("second")
        assert second["status"] == "ERROR"
        assert "anti-affinity group web already has 1 member(s) there" in second["fault"]["details"]
        assert await total_usage(cloud) == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
