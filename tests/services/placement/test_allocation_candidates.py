"""GET /allocation_candidates: filters, granular groups, trees, sharing, summaries, versions."""

from __future__ import annotations

from tests.services.placement.conftest import v
from tests.services.placement.helpers import LATEST, candidates, error, make_rp, new_uuid, put_allocs

COMPUTE = {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 100}


def providers_of(body: dict) -> list[set[str]]:
    return [set(req["allocations"]) for req in body["allocation_requests"]]


async def test_basic_candidates_and_summaries(client):
    cn = await make_rp(client, "cn", inventory=COMPUTE, traits=["HW_CPU_X86_AVX2"])
    await make_rp(client, "small", inventory={"VCPU": 1, "MEMORY_MB": 4096})
    body = await candidates(client, "resources=VCPU:2,MEMORY_MB:1024")
    assert body["allocation_requests"] == [{
        "allocations": {cn: {"resources": {"VCPU": 2, "MEMORY_MB": 1024}}}, "mappings": {"": [cn]}}]
    assert body["provider_summaries"] == {cn: {
        "resources": {"VCPU": {"capacity": 8, "used": 0}, "MEMORY_MB": {"capacity": 4096, "used": 0},
                      "DISK_GB": {"capacity": 100, "used": 0}},
        "traits": ["HW_CPU_X86_AVX2"], "parent_provider_uuid": None, "root_provider_uuid": cn}}


async def test_shapes_by_microversion(client):
    cn = await make_rp(client, "cn", inventory=COMPUTE)
    assert (await client.get("/allocation_candidates?resources=VCPU:1", headers=v("1.9"))).status_code == 404
    old = await candidates(client, "resources=VCPU:1", "1.10")
    assert old["allocation_requests"] == [{"allocations": [
        {"resource_provider": {"uuid": cn}, "resources": {"VCPU": 1}}]}]
    assert old["provider_summaries"][cn] == {"resources": {"VCPU": {"capacity": 8, "used": 0}}}
    body = await candidates(client, "resources=VCPU:1", "1.17")
    assert body["provider_summaries"][cn]["traits"] == [] and "mappings" not in body["allocation_requests"][0]
    body = await candidates(client, "resources=VCPU:1", "1.27")
    assert set(body["provider_summaries"][cn]["resources"]) == set(COMPUTE)
    assert "root_provider_uuid" not in body["provider_summaries"][cn]
    body = await candidates(client, "resources=VCPU:1", "1.29")
    assert body["provider_summaries"][cn]["root_provider_uuid"] == cn


async def test_capacity_usage_and_limit(client):
    rps = [await make_rp(client, f"cn{i}", inventory={"VCPU": 4}) for i in range(5)]
    await put_allocs(client, new_uuid(), {rps[0]: {"VCPU": 3}})
    body = await candidates(client, "resources=VCPU:2")
    assert len(body["allocation_requests"]) == 4 and rps[0] not in body["provider_summaries"]
    body = await candidates(client, "resources=VCPU:2&limit=2")
    assert len(body["allocation_requests"]) == 2 and len(body["provider_summaries"]) == 2
    assert (await client.get("/allocation_candidates?resources=VCPU:2&limit=2", headers=v("1.15"))).status_code == 400
    assert (await client.get("/allocation_candidates?resources=VCPU:2&limit=0", headers=LATEST)).status_code == 400


async def test_required_forbidden_and_any_of(client):
    a = await make_rp(client, "a", inventory=COMPUTE, traits=["HW_CPU_X86_AVX2", "CUSTOM_GOLD"])
    b = await make_rp(client, "b", inventory=COMPUTE, traits=["HW_CPU_X86_SSE"])
    c = await make_rp(client, "c", inventory=COMPUTE)
    q = "resources=VCPU:1&required="
    assert providers_of(await candidates(client, q + "HW_CPU_X86_AVX2")) == [{a}]
    assert providers_of(await candidates(client, q + "!HW_CPU_X86_AVX2")) == [{b}, {c}]
    assert providers_of(await candidates(client, q + "in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE")) == [{a}, {b}]
    assert providers_of(await candidates(client, q + "HW_CPU_X86_AVX2,!CUSTOM_GOLD")) == []
    both = await candidates(client, q + "in:HW_CPU_X86_AVX2,HW_CPU_X86_SSE&required=!CUSTOM_GOLD")
    assert providers_of(both) == [{b}]
    r = await client.get(f"/allocation_candidates?{q}!HW_CPU_X86_AVX2", headers=v("1.21"))
    assert r.status_code == 400
    r = await client.get(f"/allocation_candidates?{q}in:HW_CPU_X86_AVX2", headers=v("1.38"))
    assert r.status_code == 400
    r = await client.get(f"/allocation_candidates?{q}CUSTOM_UNKNOWN", headers=LATEST)
    assert r.status_code == 400 and "CUSTOM_UNKNOWN" in error(r)["detail"]
    r = await client.get(f"/allocation_candidates?{q}HW_CPU_X86_AVX2,!HW_CPU_X86_AVX2", headers=LATEST)
    assert r.status_code == 400


async def test_member_of_and_in_tree(client):
    agg1, agg2 = new_uuid(), new_uuid()
    a = await make_rp(client, "a", inventory=COMPUTE, aggregates=[agg1])
    b = await make_rp(client, "b", inventory=COMPUTE, aggregates=[agg2])
    await make_rp(client, "c", inventory=COMPUTE)
    q = "resources=VCPU:1&member_of="
    assert providers_of(await candidates(client, q + agg1)) == [{a}]
    assert providers_of(await candidates(client, q + f"in:{agg1},{agg2}")) == [{a}, {b}]
    assert len(providers_of(await candidates(client, q + f"!{agg1}"))) == 2
    assert providers_of(await candidates(client, q + f"!in:{agg1},{agg2}")) != []
    assert providers_of(await candidates(client, f"{q}{agg1}&member_of={agg2}")) == []
    assert providers_of(await candidates(client, f"resources=VCPU:1&in_tree={b}")) == [{b}]
    assert providers_of(await candidates(client, f"resources=VCPU:1&in_tree={new_uuid()}")) == []
    assert (await client.get(f"/allocation_candidates?{q}{agg1}", headers=v("1.20"))).status_code == 400
    assert (await client.get(f"/allocation_candidates?{q}!{agg1}", headers=v("1.31"))).status_code == 400
    assert (await client.get(f"/allocation_candidates?resources=VCPU:1&in_tree={b}", headers=v("1.30"))).status_code == 400


async def test_bad_queries_are_400(client):
    await make_rp(client, "cn", inventory=COMPUTE)
    for query, version in (("", "1.39"), ("", "1.24"), ("resources=VCPU", "1.39"), ("resources=VCPU:-1", "1.39"),
                           ("resources=NOPE:1", "1.39"), ("resources=VCPU:1&bogus=1", "1.39"),
                           ("resources=VCPU:1&resources=VCPU:2", "1.39"),
                           ("resources1=VCPU:1&resources2=VCPU:1", "1.39"),
                           ("resources1=VCPU:1", "1.24"), ("resources_x=VCPU:1", "1.32"),
                           ("resources=VCPU:1&group_policy=maybe", "1.39"),
                           ("resources=VCPU:1&required1=CUSTOM_X", "1.35"),
                           ("resources=VCPU:1&same_subtree=_x", "1.39"),
                           ("resources=VCPU:1&in_tree=nope", "1.39")):
        r = await client.get(f"/allocation_candidates?{query}", headers=v(version))
        assert r.status_code == 400, (query, version, r.text)
        assert error(r)["status"] == 400


async def test_numbers_too_big_for_an_inventory_are_400_and_a_huge_limit_is_no_limit(client):
    await make_rp(client, "cn", inventory=COMPUTE)
    huge = "9" * 25
    for path in (f"/allocation_candidates?resources=VCPU:{huge}", f"/resource_providers?resources=VCPU:{huge}",
                 f"/allocation_candidates?resources1=VCPU:{huge}&group_policy=none"):
        r = await client.get(path, headers=LATEST)
        assert r.status_code == 400, (path, r.text)
        assert error(r)["code"] == "placement.query.bad_value" and "2147483647" in error(r)["detail"]
    r = await client.get(f"/allocation_candidates?resources=VCPU:1&limit={huge}", headers=LATEST)
    assert r.status_code == 200 and len(r.json()["allocation_requests"]) == 1


async def nested_host(client, name: str = "host") -> tuple[str, str, str]:
    """A compute node with two NUMA nodes, each with a PF offering VFs."""
    root = await make_rp(client, name, inventory={"DISK_GB": 100})
    numa0 = await make_rp(client, f"{name}-numa0", parent=root, inventory={"VCPU": 4, "MEMORY_MB": 2048})
    numa1 = await make_rp(client, f"{name}-numa1", parent=root, inventory={"VCPU": 4, "MEMORY_MB": 2048})
    return root, numa0, numa1


async def test_nested_unsuffixed_spans_the_tree_from_1_29(client):
    root, numa0, numa1 = await nested_host(client)
    body = await candidates(client, "resources=VCPU:2,DISK_GB:10")
    assert providers_of(body) == [{root, numa0}, {root, numa1}]
    assert set(body["provider_summaries"]) == {root, numa0, numa1}
    assert body["provider_summaries"][numa0]["parent_provider_uuid"] == root
    assert providers_of(await candidates(client, "resources=VCPU:2,DISK_GB:10", "1.28")) == []


async def test_granular_groups_policy_and_mappings(client):
    root, numa0, numa1 = await nested_host(client)
    q = "resources=DISK_GB:10&resources1=VCPU:2&resources2=VCPU:2"
    isolate = await candidates(client, q + "&group_policy=isolate")
    assert sorted(sorted(r["mappings"].items()) for r in isolate["allocation_requests"]) == sorted([
        sorted({"": [root], "1": [numa0], "2": [numa1]}.items()),
        sorted({"": [root], "1": [numa1], "2": [numa0]}.items())])
    none = await candidates(client, q + "&group_policy=none")
    assert len(none["allocation_requests"]) == 4
    together = [r for r in none["allocation_requests"] if r["mappings"]["1"] == r["mappings"]["2"]]
    assert together[0]["allocations"][together[0]["mappings"]["1"][0]]["resources"] == {"VCPU": 4}
    # the same combination without mappings (before 1.34) is not repeated
    old = await candidates(client, q + "&group_policy=none", "1.33")
    assert len(old["allocation_requests"]) == 3
    too_much = await candidates(client, "resources1=VCPU:3&resources2=VCPU:3&group_policy=none")
    assert all(r["mappings"]["1"] != r["mappings"]["2"] for r in too_much["allocation_requests"])
    named = await candidates(client, "resources_CPU=VCPU:1&resources_MEM=MEMORY_MB:1024&group_policy=isolate")
    assert {tuple(sorted(r["mappings"])) for r in named["allocation_requests"]} == {("_CPU", "_MEM")}


async def test_same_subtree_root_required_and_resourceless_groups(client):
    root, numa0, numa1 = await nested_host(client)
    await put_allocs(client, new_uuid(), {numa1: {"MEMORY_MB": 2000}})
    gen = (await client.get(f"/resource_providers/{numa0}", headers=LATEST)).json()["generation"]
    await client.put(f"/resource_providers/{numa0}/traits", headers=LATEST,
                     json={"traits": ["HW_NUMA_ROOT"], "resource_provider_generation": gen})
    body = await candidates(client, "resources1=VCPU:1&resources2=MEMORY_MB:512&group_policy=none"
                                    "&same_subtree=1,2")
    assert providers_of(body) == [{numa0}]
    body = await candidates(client, "resources1=VCPU:1&required2=HW_NUMA_ROOT&group_policy=none&same_subtree=1,2")
    assert [r["mappings"] for r in body["allocation_requests"]] == [{"1": [numa0], "2": [numa0]}]
    r = await client.get("/allocation_candidates?resources1=VCPU:1&required2=HW_NUMA_ROOT&group_policy=none",
                         headers=LATEST)
    assert r.status_code == 400
    gen = (await client.get(f"/resource_providers/{root}", headers=LATEST)).json()["generation"]
    await client.put(f"/resource_providers/{root}/traits", headers=LATEST,
                     json={"traits": ["COMPUTE_STATUS_DISABLED"], "resource_provider_generation": gen})
    assert providers_of(await candidates(client, "resources=VCPU:1&root_required=!COMPUTE_STATUS_DISABLED")) == []
    assert len(providers_of(await candidates(client, "resources=VCPU:1&root_required=COMPUTE_STATUS_DISABLED"))) == 2
    r = await client.get("/allocation_candidates?resources=VCPU:1&root_required=X", headers=v("1.34"))
    assert r.status_code == 400


async def test_sharing_provider_via_aggregate(client):
    agg = new_uuid()
    cn1 = await make_rp(client, "cn1", inventory={"VCPU": 8}, aggregates=[agg])
    cn2 = await make_rp(client, "cn2", inventory={"VCPU": 8})
    ss = await make_rp(client, "shared-disk", inventory={"DISK_GB": 1000},
                       traits=["MISC_SHARES_VIA_AGGREGATE"], aggregates=[agg])
    body = await candidates(client, "resources=VCPU:2,DISK_GB:100")
    assert providers_of(body) == [{cn1, ss}]
    assert body["allocation_requests"][0]["allocations"][ss]["resources"] == {"DISK_GB": 100}
    assert set(body["provider_summaries"]) == {cn1, ss}
    assert cn2 not in body["provider_summaries"]
    only_disk = await candidates(client, "resources=DISK_GB:100")
    assert providers_of(only_disk) == [{ss}]


async def test_wide_tree_with_six_groups_stops_at_the_limit(client):
    root = await make_rp(client, "wide", inventory={"MEMORY_MB": 1024})
    children = [await make_rp(client, f"pf{i}", parent=root, inventory={"SRIOV_NET_VF": 8}) for i in range(8)]
    groups = "&".join(f"resources{i}=SRIOV_NET_VF:1" for i in range(1, 7))
    body = await candidates(client, f"resources=MEMORY_MB:128&{groups}&group_policy=isolate&limit=5")
    assert len(body["allocation_requests"]) == 5
    for req in body["allocation_requests"]:
        used = [req["mappings"][str(i)][0] for i in range(1, 7)]
        assert len(set(used)) == 6 and set(used) <= set(children)
    assert set(body["provider_summaries"]) == {root, *children}
    # without isolation the same group can land on one PF; amounts add up per provider
    body = await candidates(client, f"{groups}&group_policy=none&limit=3")
    assert len(body["allocation_requests"]) == 3
    assert sum(sum(a["resources"]["SRIOV_NET_VF"] for a in r["allocations"].values())
               for r in body["allocation_requests"]) == 18


async def test_fast_json_matches_the_dict_rendering(client, sessionmaker):
    import json

    from novalite.services.placement import candidate_api
    from novalite.services.placement.microversion import Version
    from novalite.services.placement.objects import candidates as objects

    root, numa0, _ = await nested_host(client)
    await make_rp(client, "flat", inventory={"VCPU": 4, "DISK_GB": 10}, traits=["CUSTOM_X", "HW_CPU_X86_AVX"])
    for params in ("resources=VCPU:1", "resources=DISK_GB:5&resources1=VCPU:1&resources2=MEMORY_MB:1&group_policy=none"):
        for version in (Version(1, 29), Version(1, 33), Version(1, 39)):
            request = candidate_api.parse([tuple(p.split("=")) for p in params.split("&")], version)
            async with sessionmaker() as s:
                result = await objects.find(s, request)
            assert result.candidates
            assert json.loads(candidate_api.render_json(result, request, version)) == \
                candidate_api.render(result, request, version)


async def test_unsuffixed_group_over_a_wide_tree_is_generated_lazily(client):
    root = await make_rp(client, "wide-root")
    kids = [await make_rp(client, f"kid{i}", parent=root, inventory={"VCPU": 2, "MEMORY_MB": 512, "DISK_GB": 10})
            for i in range(12)]
    body = await candidates(client, "resources=VCPU:1,MEMORY_MB:256,DISK_GB:5&limit=4")
    assert len(body["allocation_requests"]) == 4
    for req in body["allocation_requests"]:
        assert set(req["allocations"]) <= set(kids)
        total = {}
        for alloc in req["allocations"].values():
            for rc, n in alloc["resources"].items():
                total[rc] = total.get(rc, 0) + n
        assert total == {"VCPU": 1, "MEMORY_MB": 256, "DISK_GB": 5}
    assert len({tuple(sorted(r["allocations"])) for r in body["allocation_requests"]}) >= 1
