"""Resource classes, traits (global and per provider) and aggregates."""

from __future__ import annotations

import os_resource_classes
import os_traits

from tests.services.placement.conftest import v
from tests.services.placement.helpers import LATEST, error, make_rp, new_uuid


async def test_standard_classes_are_present_and_custom_crud(client):
    r = await client.get("/resource_classes", headers=v("1.2"))
    names = [rc["name"] for rc in r.json()["resource_classes"]]
    assert set(os_resource_classes.STANDARDS) <= set(names)
    assert (await client.get("/resource_classes", headers=v("1.1"))).status_code == 404
    r = await client.post("/resource_classes", json={"name": "CUSTOM_FPGA"}, headers=LATEST)
    assert r.status_code == 201 and r.headers["location"].endswith("/resource_classes/CUSTOM_FPGA")
    r = await client.post("/resource_classes", json={"name": "CUSTOM_FPGA"}, headers=LATEST)
    assert r.status_code == 409 and error(r)["code"] == "placement.duplicate_name"
    assert (await client.post("/resource_classes", json={"name": "FPGA"}, headers=LATEST)).status_code == 400
    r = await client.get("/resource_classes/CUSTOM_FPGA", headers=LATEST)
    assert r.json()["name"] == "CUSTOM_FPGA"
    assert (await client.put("/resource_classes/CUSTOM_NEW", headers=v("1.7"))).status_code == 201
    assert (await client.put("/resource_classes/CUSTOM_NEW", headers=v("1.7"))).status_code == 204
    assert (await client.put("/resource_classes/VCPU", headers=v("1.7"))).status_code == 400
    r = await client.put("/resource_classes/CUSTOM_FPGA", json={"name": "CUSTOM_FPGA2"}, headers=v("1.6"))
    assert r.status_code == 200 and r.json()["name"] == "CUSTOM_FPGA2"
    assert (await client.delete("/resource_classes/VCPU", headers=LATEST)).status_code == 400
    assert (await client.delete("/resource_classes/CUSTOM_NOPE", headers=LATEST)).status_code == 404
    rp = await make_rp(client, "cn", inventory={"CUSTOM_FPGA2": 1})
    assert rp
    assert (await client.delete("/resource_classes/CUSTOM_FPGA2", headers=LATEST)).status_code == 409
    assert (await client.delete("/resource_classes/CUSTOM_NEW", headers=LATEST)).status_code == 204


async def test_traits_crud_and_filters(client):
    assert (await client.get("/traits", headers=v("1.5"))).status_code == 404
    r = await client.get("/traits", headers=v("1.6"))
    assert set(os_traits.get_traits()) <= set(r.json()["traits"])
    assert (await client.put("/traits/CUSTOM_A", headers=LATEST)).status_code == 201
    assert (await client.put("/traits/CUSTOM_A", headers=LATEST)).status_code == 204
    assert (await client.put("/traits/NOT_CUSTOM", headers=LATEST)).status_code == 400
    assert (await client.get("/traits/CUSTOM_A", headers=LATEST)).status_code == 204
    assert (await client.get("/traits/CUSTOM_B", headers=LATEST)).status_code == 404
    r = await client.get("/traits?name=startswith:CUSTOM_", headers=LATEST)
    assert r.json()["traits"] == ["CUSTOM_A"]
    r = await client.get("/traits?name=in:CUSTOM_A,HW_CPU_X86_AVX", headers=LATEST)
    assert r.json()["traits"] == ["CUSTOM_A", "HW_CPU_X86_AVX"]
    assert (await client.get("/traits?name=CUSTOM_A", headers=LATEST)).status_code == 400
    assert (await client.get("/traits?associated=maybe", headers=LATEST)).status_code == 400
    await make_rp(client, "cn", traits=["CUSTOM_A"])
    assert (await client.get("/traits?associated=true", headers=LATEST)).json()["traits"] == ["CUSTOM_A"]
    assert "CUSTOM_A" not in (await client.get("/traits?associated=false", headers=LATEST)).json()["traits"]
    assert (await client.delete("/traits/CUSTOM_A", headers=LATEST)).status_code == 409
    assert (await client.delete("/traits/HW_CPU_X86_AVX", headers=LATEST)).status_code == 400
    assert (await client.put("/traits/CUSTOM_C", headers=LATEST)).status_code == 201
    assert (await client.delete("/traits/CUSTOM_C", headers=LATEST)).status_code == 204


async def test_provider_traits_generation_and_unknown_traits(client):
    rp = await make_rp(client, "cn")
    r = await client.put(f"/resource_providers/{rp}/traits", headers=LATEST,
                         json={"traits": ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE"], "resource_provider_generation": 0})
    assert r.status_code == 200 and r.json()["resource_provider_generation"] == 1
    r = await client.put(f"/resource_providers/{rp}/traits", headers=LATEST,
                         json={"traits": [], "resource_provider_generation": 0})
    assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"
    r = await client.put(f"/resource_providers/{rp}/traits", headers=LATEST,
                         json={"traits": ["CUSTOM_MISSING"], "resource_provider_generation": 1})
    assert r.status_code == 400
    body = (await client.get(f"/resource_providers/{rp}/traits", headers=LATEST)).json()
    assert body == {"traits": ["HW_CPU_X86_AVX2", "HW_CPU_X86_SSE"], "resource_provider_generation": 1}
    assert (await client.delete(f"/resource_providers/{rp}/traits", headers=LATEST)).status_code == 204
    assert (await client.get(f"/resource_providers/{rp}/traits", headers=LATEST)).json()["traits"] == []


async def test_aggregates_list_form_before_1_19_and_generation_after(client):
    rp = await make_rp(client, "cn")
    agg = new_uuid()
    r = await client.put(f"/resource_providers/{rp}/aggregates", headers=v("1.1"), json=[agg])
    assert r.status_code == 200 and r.json() == {"aggregates": [agg]}
    assert (await client.get(f"/resource_providers/{rp}", headers=LATEST)).json()["generation"] == 0
    r = await client.get(f"/resource_providers/{rp}/aggregates", headers=v("1.19"))
    assert r.json() == {"aggregates": [agg], "resource_provider_generation": 0}
    r = await client.put(f"/resource_providers/{rp}/aggregates", headers=v("1.19"),
                         json={"aggregates": [], "resource_provider_generation": 5})
    assert r.status_code == 409
    r = await client.put(f"/resource_providers/{rp}/aggregates", headers=LATEST,
                         json={"aggregates": [], "resource_provider_generation": 5})
    assert r.status_code == 409 and error(r)["code"] == "placement.concurrent_update"
    r = await client.put(f"/resource_providers/{rp}/aggregates", headers=v("1.19"), json=[agg])
    assert r.status_code == 400
    r = await client.put(f"/resource_providers/{rp}/aggregates", headers=v("1.19"),
                         json={"aggregates": ["not-a-uuid"], "resource_provider_generation": 0})
    assert r.status_code == 400
    r = await client.put(f"/resource_providers/{rp}/aggregates", headers=v("1.19"),
                         json={"aggregates": [], "resource_provider_generation": 0})
    assert r.json() == {"aggregates": [], "resource_provider_generation": 1}
    assert (await client.get(f"/resource_providers/{rp}/aggregates", headers=v("1.0"))).status_code == 404
