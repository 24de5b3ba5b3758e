"""A cell whose database cannot be reached does not break listing (minimal records from 2.69)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from novalite.db.api_models import CellMapping, InstanceMapping
from tests.conftest import client_for
from tests.support.compute import SERVERS, boot, wait_status

# Port 1 on this machine refuses connections at once: a cell database that is down.
UNREACHABLE = "postgresql+asyncpg://nova:secret@127.0.0.1:1/cell_down"


async def test_a_down_cell_lists_as_minimal_records_from_2_69(cloud, client):
    alive = (await boot(client, name="alive"))["server"]["id"]
    await wait_status(client, alive, "ACTIVE")
    lost = [str(uuid.uuid4()) for _ in range(2)]
    async with cloud.runtime.api_sessions() as session, session.begin():
        cell = CellMapping(uuid=str(uuid.uuid4()), name="cell-down", database_connection=UNREACHABLE,
                           transport_url="none:///")
        session.add(cell)
        await session.flush()
        session.add_all([InstanceMapping(instance_uuid=u, cell_id=cell.id, project_id="admin", user_id="admin")
                         for u in lost])
    await cloud.runtime.cells.refresh()

    async with client_for(cloud, version="2.69") as new:
        detail = (await new.get(f"{SERVERS}/detail")).json()["servers"]
        minimal = {s["id"]: s for s in detail if s["status"] == "UNKNOWN"}
        assert set(minimal) == set(lost)
        assert all(set(s) == {"id", "status", "tenant_id", "created", "links"} for s in minimal.values())
        assert alive in {s["id"] for s in detail}
        index = (await new.get(SERVERS)).json()["servers"]
        assert {s["id"] for s in index} == set(lost) | {alive}
        paged, marker = [], None  # one by one: each server of the down cell serves as a marker
        while True:
            page = await new.get(SERVERS, params={"limit": "1", **({"marker": marker} if marker else {})})
            assert page.status_code == 200, page.text
            paged += [s["id"] for s in page.json()["servers"]]
            if "servers_links" not in page.json():
                break
            marker = paged[-1]
        assert sorted(paged) == sorted(set(lost) | {alive})
    async with client_for(cloud, version="2.68") as old:
        listed = (await old.get(f"{SERVERS}/detail")).json()["servers"]
        assert [s["id"] for s in listed] == [alive]  # before 2.69 Nova leaves them out
    async with cloud.runtime.api_sessions() as session:
        assert len((await session.scalars(select(InstanceMapping))).all()) == 3
