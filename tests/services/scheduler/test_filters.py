"""Each built-in filter against hosts built for it; loading by name and by import path."""

from __future__ import annotations

import datetime as dt

import pytest

from novalite.config import DEFAULT_FILTERS, Settings
from novalite.services.scheduler.context import GroupInfo
from novalite.services.scheduler.filters import load_filters
from tests.services.scheduler.support import aggregate, make_context, make_host


def passing(name: str, hosts, ctx) -> list[str]:
    host_filter = load_filters([name])[0]
    return [h.host for h in hosts if host_filter.rejects(h, ctx) is None]


def reason(name: str, host, ctx) -> str | None:
    return load_filters([name])[0].rejects(host, ctx)


def test_default_list_is_novas_and_unknown_names_fail_with_the_name():
    novas = ["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
             "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"]  # Nova's [filter_scheduler] default
    assert DEFAULT_FILTERS == novas and [f.name for f in load_filters(DEFAULT_FILTERS)] == novas
    options = Settings().scheduler
    assert options.enabled_filters == novas and options.host_subset_size == 1
    with pytest.raises(ValueError, match="NoSuchFilter"):
        load_filters(["ComputeFilter", "NoSuchFilter"])
    with pytest.raises(ValueError, match="cannot be imported"):
        load_filters(["no.such.module:Thing"])
    loaded = load_filters(["novalite.services.scheduler.filters.compute:AllHostsFilter"])
    assert loaded[0].name == "AllHostsFilter"


def test_compute_filter_rejects_disabled_forced_down_and_silent_hosts():
    old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=1)
    hosts = [make_host("ok"), make_host("off", service_disabled=True, disabled_reason="maintenance"),
             make_host("forced", forced_down=True), make_host("silent", last_seen_up=old)]
    ctx = make_context()
    assert passing("ComputeFilter", hosts, ctx) == ["ok"]
    assert "maintenance" in reason("ComputeFilter", hosts[1], ctx)
    assert "down" in reason("ComputeFilter", hosts[3], ctx)
    assert passing("AllHostsFilter", hosts, ctx) == ["ok", "off", "forced", "silent"]


def test_compute_capabilities_filter_uses_novas_operators():
    hosts = [make_host("small", free_ram=1024), make_host("big", free_ram=8192)]
    assert passing("ComputeCapabilitiesFilter", hosts, make_context({"free_ram_mb": ">= 4096"})) == ["big"]
    assert passing("ComputeCapabilitiesFilter", hosts,
                   make_context({"capabilities:cpu_info:arch": "<or> aarch64 <or> x86_64"})) == ["small", "big"]
    assert passing("ComputeCapabilitiesFilter", hosts,
                   make_context({"capabilities:hypervisor_type": "s== qemu"})) == []
    # scoped keys of other filters are not this filter's business
    assert passing("ComputeCapabilitiesFilter", hosts, make_context({"hw:cpu_policy": "dedicated"})) == ["small",
                                                                                                           "big"]
    assert "no capability" in reason("ComputeCapabilitiesFilter", hosts[0], make_context({"capabilities:gpu": "1"}))


def test_image_properties_filter():
    arm = make_host("arm", cpu_info={"arch": "aarch64"})
    x86 = make_host("x86")
    assert passing("ImagePropertiesFilter", [arm, x86], make_context(image_props={"hw_architecture": "arm64"})) \
        == ["arm"]
    assert passing("ImagePropertiesFilter", [arm, x86], make_context(image_props={"img_hv_type": "kvm"})) == []
    assert passing("ImagePropertiesFilter", [x86], make_context(image_props={"img_hv_requested_version": ">=900"})) \
        == ["x86"]
    assert passing("ImagePropertiesFilter", [x86], make_context(image_props={"hw_vm_mode": "xen"})) == []
    assert passing("ImagePropertiesFilter", [arm, x86], make_context()) == ["arm", "x86"]


def test_server_group_filters():
    hosts = [make_host("a"), make_host("b"), make_host("c")]
    anti = GroupInfo(uuid="g", name="web", policy="anti-affinity", members_on={"uuid-a": 1, "uuid-b": 2})
    assert passing("ServerGroupAntiAffinityFilter", hosts, make_context(group=anti)) == ["c"]
    roomy = GroupInfo(uuid="g", name="web", policy="anti-affinity", rules={"max_server_per_host": 2},
                      members_on={"uuid-a": 1, "uuid-b": 2})
    assert passing("ServerGroupAntiAffinityFilter", hosts, make_context(group=roomy)) == ["a", "c"]
    together = GroupInfo(uuid="g", name="db", policy="affinity", members_on={"uuid-b": 1})
    assert passing("ServerGroupAffinityFilter", hosts, make_context(group=together)) == ["b"]
    first = GroupInfo(uuid="g", name="db", policy="affinity")
    assert passing("ServerGroupAffinityFilter", hosts, make_context(group=first)) == ["a", "b", "c"]
    soft = GroupInfo(uuid="g", name="s", policy="soft-anti-affinity", members_on={"uuid-a": 5})
    assert passing("ServerGroupAntiAffinityFilter", hosts, make_context(group=soft)) == ["a", "b", "c"]


def test_same_and_different_host_filters():
    hosts = [make_host("a"), make_host("b")]
    ctx = make_context()
    ctx.same_host_nodes = {"uuid-a"}
    ctx.different_host_nodes = {"uuid-a"}
    assert passing("SameHostFilter", hosts, ctx) == ["a"]
    assert passing("DifferentHostFilter", hosts, ctx) == ["b"]
    ctx.same_host_nodes = None  # no hint: everyone passes
    assert passing("SameHostFilter", hosts, ctx) == ["a", "b"]


def test_aggregate_instance_extra_specs_filter():
    ssd = aggregate("ssd", ["a"], ssd="true", cores="32")
    hosts = [make_host("a", aggregates=[ssd]), make_host("b")]
    assert passing("AggregateInstanceExtraSpecsFilter", hosts,
                   make_context({"aggregate_instance_extra_specs:ssd": "true"})) == ["a"]
    assert passing("AggregateInstanceExtraSpecsFilter", hosts, make_context({"cores": ">= 16"})) == ["a"]
    assert passing("AggregateInstanceExtraSpecsFilter", hosts, make_context({"hw:numa_nodes": "2"})) == ["a", "b"]


def test_aggregate_multi_tenancy_isolation():
    private = aggregate("private", ["a"], filter_tenant_id="p1,p2", filter_tenant_id2="p3")
    hosts = [make_host("a", aggregates=[private]), make_host("b")]
    assert passing("AggregateMultiTenancyIsolation", hosts, make_context(project_id="p3")) == ["a", "b"]
    assert passing("AggregateMultiTenancyIsolation", hosts, make_context(project_id="p9")) == ["b"]


def test_aggregate_image_properties_isolation_with_namespace():
    windows = aggregate("win", ["a"], **{"os_distro": "windows", "isolation.tier": "gold"})
    hosts = [make_host("a", aggregates=[windows]), make_host("b")]
    assert passing("AggregateImagePropertiesIsolation", hosts, make_context(image_props={"os_distro": "ubuntu"})) \
        == ["b"]
    assert passing("AggregateImagePropertiesIsolation", hosts, make_context(image_props={"os_distro": "windows"})) \
        == ["a", "b"]
    namespaced = make_context(image_props={"os_distro": "ubuntu", "isolation.tier": "gold"},
                              aggregate_image_properties_isolation_namespace="isolation")
    assert passing("AggregateImagePropertiesIsolation", hosts, namespaced) == ["a", "b"]


def test_availability_zone_filter():
    zone = aggregate("z", ["a"], availability_zone="az1")
    hosts = [make_host("a", aggregates=[zone]), make_host("b")]
    assert passing("AvailabilityZoneFilter", hosts, make_context(zone="az1")) == ["a"]
    assert passing("AvailabilityZoneFilter", hosts, make_context(zone="nova")) == ["b"]


def test_isolated_hosts_filter():
    hosts = [make_host("iso"), make_host("plain")]
    options = {"isolated_images": ["secret"], "isolated_hosts": ["iso"]}
    assert passing("IsolatedHostsFilter", hosts, make_context(image_id="secret", **options)) == ["iso"]
    assert passing("IsolatedHostsFilter", hosts, make_context(image_id="other", **options)) == ["plain"]
    relaxed = make_context(image_id="other", restrict_isolated_hosts_to_isolated_images=False, **options)
    assert passing("IsolatedHostsFilter", hosts, relaxed) == ["iso", "plain"]


def test_num_instances_and_io_ops_filters_and_their_aggregate_variants():
    low = aggregate("low", ["a", "b"], max_instances_per_host="3", max_io_ops_per_host="1")
    hosts = [make_host("a", num_instances=50, num_io_ops=8, aggregates=[low]),
             make_host("b", num_instances=3, num_io_ops=1, aggregates=[low]),
             make_host("c", num_instances=2, num_io_ops=0)]
    ctx = make_context()
    assert passing("NumInstancesFilter", hosts, ctx) == ["b", "c"]
    assert passing("IoOpsFilter", hosts, ctx) == ["b", "c"]
    assert passing("AggregateNumInstancesFilter", hosts, ctx) == ["c"]
    assert passing("AggregateIoOpsFilter", hosts, ctx) == ["c"]
    assert passing("NumInstancesFilter", hosts, make_context(max_instances_per_host=3)) == ["c"]


def test_json_filter():
    hosts = [make_host("small", free_ram=1024, num_instances=1), make_host("big", free_ram=8192, num_instances=9)]
    query = '["and", [">=", "$free_ram_mb", 4096], ["<", "$num_instances", 10]]'
    assert passing("JsonFilter", hosts, make_context(hints={"query": query})) == ["big"]
    assert passing("JsonFilter", hosts, make_context(hints={"query": '["in", "$host", "small", "x"]'})) == ["small"]
    assert passing("JsonFilter", hosts, make_context(hints={"query": '["not", ["=", "$host", "big"]]'})) == ["small"]
    assert passing("JsonFilter", hosts, make_context()) == ["small", "big"]
