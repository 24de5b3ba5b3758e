"""The shortcuts a decision among thousands of hosts takes must not change what it decides."""

from __future__ import annotations

import random

import pytest

from novalite.config import DEFAULT_WEIGHERS
from novalite.records import FlavorRecord
from novalite.services.scheduler.context import GroupInfo, SchedulingContext
from novalite.services.scheduler.filters import load_filters
from novalite.services.scheduler.filters.base import _REGISTRY as FILTERS
from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers import BaseWeigher, load_weighers, weigh_hosts
from tests.services.scheduler.support import aggregate, make_context, make_host


def varied_hosts() -> list[HostState]:
    zone = aggregate("z", ["a"], availability_zone="az1", filter_tenant_id="p9", os_distro="windows")
    return [make_host("a", aggregates=[zone], num_instances=60, num_io_ops=9),
            make_host("b", service_disabled=True, cpu_info={"arch": "aarch64"}),
            make_host("c", free_ram=0, image_refs={"img": 2})]


CONTEXTS = {
    "plain": lambda: make_context(),
    "scoped extra specs only": lambda: make_context({"hw:cpu_policy": "dedicated", "trait:X": "required"}),
    "image without checked properties": lambda: make_context(image_props={"os_distro": "ubuntu"}),
    "soft group": lambda: make_context(group=GroupInfo(uuid="g", name="g", policy="soft-affinity",
                                                       members_on={"uuid-a": 1})),
    "first affinity member": lambda: make_context(group=GroupInfo(uuid="g", name="g", policy="affinity")),
}


@pytest.mark.parametrize("case", sorted(CONTEXTS))
def test_a_filter_with_nothing_to_check_passes_every_host_anyway(case):
    hosts = varied_hosts()
    for host_filter in load_filters(sorted(FILTERS)):
        ctx = CONTEXTS[case]()
        if not host_filter.applies(ctx):
            assert [host_filter.rejects(h, ctx) for h in hosts] == [None] * len(hosts), host_filter.name


def test_filters_apply_when_the_request_asks_something_of_them():
    def applies(name: str, ctx: SchedulingContext) -> bool:
        return load_filters([name])[0].applies(ctx)

    assert applies("ComputeFilter", make_context())
    assert applies("ComputeCapabilitiesFilter", make_context({"capabilities:cpu_info:arch": "x86_64"}))
    assert applies("ComputeCapabilitiesFilter", make_context({"free_ram_mb": ">= 1"}))
    assert applies("ImagePropertiesFilter", make_context(image_props={"architecture": "x86_64"}))
    anti = GroupInfo(uuid="g", name="g", policy="anti-affinity")
    assert applies("ServerGroupAntiAffinityFilter", make_context(group=anti))
    assert not applies("ServerGroupAffinityFilter", make_context(group=anti))
    assert applies("AvailabilityZoneFilter", make_context(zone="az1"))
    assert applies("JsonFilter", make_context(hints={"query": '["=", "$host", "a"]'}))
    assert applies("IsolatedHostsFilter", make_context(isolated_hosts=["a"]))
    assert not applies("AllHostsFilter", make_context())


def reference_weigh(hosts, weighers, ctx):
    """Nova's algorithm written plainly, one host and one weigher at a time."""
    overridden = {key for h in hosts for agg in h.aggregates for key in agg.metadata}
    totals = {h.uuid: 0.0 for h in hosts}
    for weigher in weighers:
        per_host = bool(weigher.option) and weigher.option in overridden
        if weigher.default_multiplier(ctx) == 0.0 and not per_host:
            continue
        raw = [weigher.weight(h, ctx) for h in hosts]
        low, high = min(raw), max(raw)
        for host, value in zip(hosts, raw):
            norm = 0.0 if high == low else (value - low) / (high - low)
            multiplier = weigher.multiplier(host, ctx) if per_host else weigher.default_multiplier(ctx)
            totals[host.uuid] += multiplier * norm + 0.0
    return sorted(((h.host, totals[h.uuid]) for h in hosts), key=lambda item: -item[1])


def test_weighing_lists_at_once_matches_the_plain_algorithm():
    rng = random.Random(4)
    stack = aggregate("stack", [], ram_weight_multiplier="-2.0", io_ops_weight_multiplier="0.5")
    group = GroupInfo(uuid="g", name="g", policy="soft-anti-affinity")
    for _ in range(20):
        hosts = [make_host(f"h{i}", free_ram=rng.choice([0, 512, 4096]), free_cpu=rng.randint(0, 3),
                           num_io_ops=rng.randint(0, 2), num_instances=rng.randint(0, 2),
                           failed_builds=rng.choice([0, 0, 1]), image_refs={"img": rng.randint(0, 1)},
                           aggregates=[stack] if rng.random() < 0.3 else [])
                 for i in range(12)]
        group.members_on = {f"uuid-h{rng.randint(0, 11)}": 1}
        ctx = make_context(group=group, num_instances_weight_multiplier=rng.choice([0.0, 1.0]),
                           image_props_weight_multiplier=rng.choice([0.0, 2.0]))
        weighers = load_weighers(DEFAULT_WEIGHERS)
        got = [(w.host.host, w.weight) for w in weigh_hosts(hosts, weighers, ctx)]
        assert got == reference_weigh(hosts, weighers, ctx)


class Weightless(BaseWeigher):
    """Loaded by import path below: implements neither weight nor weights."""

    name = "Weightless"


def test_a_weigher_may_implement_weight_alone_and_the_breakdown_names_every_weigher():
    class Alphabetical(BaseWeigher):
        name = "Alphabetical"

        def weight(self, host, ctx):
            return -float(ord(host.host[0]))

    hosts = [make_host("b", free_ram=1000), make_host("a", free_ram=1000)]
    weighed = weigh_hosts(hosts, [Alphabetical(), *load_weighers(["RAMWeigher"])], make_context())
    assert [w.host.host for w in weighed] == ["a", "b"]
    assert weighed[0].breakdown == {"Alphabetical": 1.0, "RAMWeigher": 0.0}
    with pytest.raises(ValueError, match="neither weight nor weights"):
        load_weighers(["tests.services.scheduler.test_fast_paths:Weightless"])


def test_consume_does_not_touch_image_statistics_shared_with_other_hosts():
    shared = {"img": 1}
    first, second = make_host("a", image_refs=shared), make_host("b", image_refs=shared)
    first.consume(FlavorRecord(flavorid="1", name="f", vcpus=1, memory_mb=512, root_gb=1), "img")
    assert first.image_refs == {"img": 2}
    assert second.image_refs == {"img": 1} and shared == {"img": 1}
