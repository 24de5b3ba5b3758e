"""A split deployment with identity on: every process calls placement as a service user.

Real processes on PostgreSQL and RabbitMQ (placement, API, a scheduler, one cell with a
conductor and a compute), set up with the README's steps: `db upgrade` makes the admin,
the admin makes the `placement` service user through the identity API, and every role's
[placement] options name that user. A server boots to ACTIVE with its allocation in
placement; a compute given a wrong service password stops at once and says why.
"""

from __future__ import annotations

import asyncio
import time
from typing import Iterator

import httpx
import pytest

from tests.support.services import require_postgres, require_rabbitmq
from tests.support.split import SplitDeployment

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]

SERVERS = "/compute/v2.1/servers"


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplitDeployment]:
    require_postgres()
    require_rabbitmq()
    deployment = SplitDeployment(tmp_path_factory.mktemp("split-identity"), schedulers=1, cell_names=("cell1",),
                                 computes_per_cell=1, api_workers=2, auth_strategy="identity")
    with deployment.running():
        yield deployment


async def usage(split: SplitDeployment, token: str) -> dict[str, dict[str, int]]:
    assert split.placement is not None
    async with httpx.AsyncClient(base_url=f"{split.placement.url}/placement", timeout=60, headers={
            "X-Auth-Token": token, "OpenStack-API-Version": "placement 1.39"}) as placement:
        providers = (await placement.get("/resource_providers")).json()["resource_providers"]
        return {p["name"]: (await placement.get(f"/resource_providers/{p['uuid']}/usages")).json()["usages"]
                for p in providers}


async def test_servers_boot_to_active_with_services_authenticated_by_identity(split: SplitDeployment):
    assert split.api is not None
    token = await split.admin_token()
    async with httpx.AsyncClient(base_url=split.api.url, timeout=120, headers={
            "X-Auth-Token": token, "OpenStack-API-Version": "compute 2.100"}) as api:
        assert (await api.get(SERVERS, headers={"X-Auth-Token": "admin:admin"})).status_code == 401
        ids = []
        for i in range(3):
            body = {"server": {"name": f"id{i}", "imageRef": "cirros", "flavorRef": "1", "networks": "none"}}
            response = await api.post(SERVERS, json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["server"]["id"])
        deadline = time.monotonic() + 120
        while True:
            servers = [(await api.get(f"{SERVERS}/{i}")).json()["server"] for i in ids]
            if all(s["status"] in ("ACTIVE", "ERROR") for s in servers) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert [s["status"] for s in servers] == ["ACTIVE"] * 3, [s.get("fault") for s in servers]
        # The compute reported its inventory and the scheduler claimed, both as the service user.
        assert (await usage(split, token))["cell1-host1"]["VCPU"] == 3

        for i in ids:
            assert (await api.delete(f"{SERVERS}/{i}")).status_code == 204
        deadline = time.monotonic() + 60
        while (await usage(split, token))["cell1-host1"]["VCPU"] and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert (await usage(split, token))["cell1-host1"]["VCPU"] == 0


def test_a_wrong_service_password_stops_a_compute_with_a_clear_error(split: SplitDeployment):
    compute = split.compute("cell1", "cell1-wrongpass", placement__password="not-the-password")
    split.processes.append(compute)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with") as stopped:
        compute.start(ready_timeout=90)
    assert time.monotonic() - started < 90
    message = str(stopped.value)
    assert "refused service user 'placement' (project 'service')" in message, message
    assert "check [placement] username, password and project_name" in message
