"""Prefilters: the request spec becomes placement terms (traits, member_of, granular groups)."""

from __future__ import annotations

from novalite.config import SchedulerOptions
from novalite.services.scheduler.placement_query import describe, plan_for
from tests.services.scheduler.support import aggregate, make_context


def plan(extra_specs=None, image_props=None, zone=None, project_id="p1", aggregates=(), **options):
    spec = make_context(extra_specs, image_props, zone=zone, project_id=project_id).spec
    return plan_for(spec, SchedulerOptions(**options), list(aggregates), "nova")


def test_flavor_resources_and_disabled_computes_are_excluded_always():
    query = plan().query
    assert query.unsuffixed.resources == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert query.unsuffixed.required == ["!COMPUTE_STATUS_DISABLED"]
    assert query.limit == 1000


def test_extra_specs_override_resources_and_add_traits_and_granular_groups():
    query = plan({"resources:DISK_GB": "0", "resources:VGPU": "1", "trait:HW_CPU_X86_AVX": "required",
                  "trait:CUSTOM_SLOW": "forbidden", "resources1:SRIOV_NET_VF": "2",
                  "trait1:CUSTOM_PHYSNET_A": "required", "group_policy": "isolate"},
                 image_props={"trait:CUSTOM_SECURE": "required"}).query
    assert query.unsuffixed.resources == {"VCPU": 1, "MEMORY_MB": 512, "VGPU": 1}
    assert set(query.unsuffixed.required) == {"HW_CPU_X86_AVX", "!CUSTOM_SLOW", "CUSTOM_SECURE",
                                              "!COMPUTE_STATUS_DISABLED"}
    assert query.granular["1"].resources == {"SRIOV_NET_VF": 2}
    assert query.granular["1"].required == ["CUSTOM_PHYSNET_A"]
    assert query.group_policy == "isolate"


def test_zone_becomes_member_of_and_the_default_zone_excludes_zone_aggregates():
    zones = [aggregate("a", ["h1"], availability_zone="az1"), aggregate("b", ["h2"], availability_zone="az1"),
             aggregate("c", ["h3"], availability_zone="az2"), aggregate("plain", ["h4"])]
    az1 = plan(zone="az1", aggregates=zones)
    assert az1.query.unsuffixed.member_of == ["in:agg-a,agg-b"]
    assert "availability zone az1" in describe(az1)
    assert plan(zone="nova", aggregates=zones).query.unsuffixed.member_of == ["!in:agg-a,agg-b,agg-c"]
    assert plan(zone="mars", aggregates=zones).impossible == "availability zone mars has no hosts"
    assert plan(zone="az1", aggregates=zones, query_placement_for_availability_zone=False).query \
        .unsuffixed.member_of == []


def test_tenant_isolation_prefilter():
    private = [aggregate("mine", ["h1"], filter_tenant_id="p1"), aggregate("theirs", ["h2"], filter_tenant_id2="p2")]
    assert plan(aggregates=private).query.unsuffixed.member_of == []  # off by default, as in Nova
    on = {"limit_tenants_to_placement_aggregate": True}
    assert plan(aggregates=private, **on).query.unsuffixed.member_of == ["in:agg-mine"]
    assert plan(aggregates=private, project_id="p3", **on).impossible is None
    required = plan(aggregates=private, project_id="p3", placement_aggregate_required_for_tenants=True, **on)
    assert "no aggregate is assigned to project p3" in required.impossible


def test_image_type_and_isolated_aggregates():
    assert "COMPUTE_IMAGE_TYPE_QCOW2" not in plan(image_props={"disk_format": "qcow2"}).query.unsuffixed.required
    typed = plan(image_props={"disk_format": "qcow2"}, query_placement_for_image_type_support=True)
    assert "COMPUTE_IMAGE_TYPE_QCOW2" in typed.query.unsuffixed.required
    gpu = [aggregate("gpu", ["h1"], **{"trait:CUSTOM_GPU": "required"})]
    assert plan(aggregates=gpu, enable_isolated_aggregate_filtering=True).query.unsuffixed.member_of \
        == ["!in:agg-gpu"]
    wants_gpu = plan({"trait:CUSTOM_GPU": "required"}, aggregates=gpu, enable_isolated_aggregate_filtering=True)
    assert wants_gpu.query.unsuffixed.member_of == []
