"""Weighers normalise to 0..1, take Nova's multipliers, and aggregates may override them."""

from __future__ import annotations

import pytest

from novalite.config import DEFAULT_WEIGHERS
from novalite.services.scheduler.context import GroupInfo
from novalite.services.scheduler.weighers import load_weighers, weigh_hosts
from tests.services.scheduler.support import aggregate, make_context, make_host


def ranking(hosts, names, ctx=None):
    return [(w.host.host, w.weight) for w in weigh_hosts(hosts, load_weighers(names), ctx or make_context())]


def test_ram_and_cpu_weighers_combine_after_normalisation():
    hosts = [make_host("a", 1000, 60), make_host("b", 9000, 10), make_host("c", 5000, 35)]
    weights = dict(ranking(hosts, ["RAMWeigher", "CPUWeigher"]))
    assert weights == pytest.approx({"a": 1.0, "b": 1.0, "c": 1.0})
    assert [h for h, _ in ranking(hosts, ["RAMWeigher"])] == ["b", "c", "a"]


def test_negative_ram_multiplier_stacks():
    hosts = [make_host("a", 1000), make_host("b", 9000)]
    ctx = make_context(ram_weight_multiplier=-1.0)
    assert [h for h, _ in ranking(hosts, ["RAMWeigher"], ctx)] == ["a", "b"]


def test_aggregate_metadata_overrides_the_multiplier_for_its_hosts():
    agg = aggregate("stack", ["a"], ram_weight_multiplier="-2.0")
    hosts = [make_host("a", 9000, aggregates=[agg]), make_host("b", 1000)]
    weights = dict(ranking(hosts, ["RAMWeigher"]))
    assert weights == pytest.approx({"a": -2.0, "b": 0.0})


def test_io_ops_weigher_prefers_quiet_hosts_and_num_instances_is_off_by_default():
    hosts = [make_host("busy", num_io_ops=5, num_instances=1), make_host("quiet", num_io_ops=0, num_instances=9)]
    assert ranking(hosts, ["IoOpsWeigher"])[0][0] == "quiet"
    assert all(w == 0.0 for _, w in ranking(hosts, ["NumInstancesWeigher"]))
    ctx = make_context(num_instances_weight_multiplier=1.0)
    assert ranking(hosts, ["NumInstancesWeigher"], ctx)[0][0] == "quiet"


def test_build_failure_weigher_outweighs_everything_else():
    hosts = [make_host("roomy-but-failing", 60000, failed_builds=2), make_host("small", 100)]
    assert ranking(hosts, DEFAULT_WEIGHERS)[0][0] == "small"


def test_soft_affinity_and_soft_anti_affinity():
    hosts = [make_host("a"), make_host("b")]
    soft = GroupInfo(uuid="g", name="g", policy="soft-affinity", members_on={"uuid-b": 2})
    assert ranking(hosts, ["ServerGroupSoftAffinityWeigher"], make_context(group=soft))[0][0] == "b"
    anti = GroupInfo(uuid="g", name="g", policy="soft-anti-affinity", members_on={"uuid-a": 1})
    assert ranking(hosts, ["ServerGroupSoftAntiAffinityWeigher"], make_context(group=anti))[0][0] == "b"


def test_image_properties_weigher_prefers_hosts_with_the_image_when_enabled():
    hosts = [make_host("cold"), make_host("warm", image_refs={"img": 3})]
    assert all(w == 0.0 for _, w in ranking(hosts, ["ImagePropertiesWeigher"]))
    ctx = make_context(image_props_weight_multiplier=1.0)
    assert ranking(hosts, ["ImagePropertiesWeigher"], ctx)[0][0] == "warm"


def test_unknown_weigher_is_named_and_import_paths_load():
    with pytest.raises(ValueError, match="NoSuchWeigher"):
        load_weighers(["NoSuchWeigher"])
    weigher = load_weighers(["novalite.services.scheduler.weighers.resources:DiskWeigher"])[0]
    assert weigher.name == "DiskWeigher"
    with pytest.raises(ValueError, match="not a BaseWeigher"):
        load_weighers(["novalite.config:Settings"])
