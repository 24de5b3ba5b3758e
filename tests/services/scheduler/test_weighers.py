"""Weighers normalise to 0..1 and the heaviest host wins."""

from __future__ import annotations

import pytest

from novalite.services.scheduler.host_state import HostState
from novalite.services.scheduler.weighers import load_weighers, weigh_hosts


def host(name: str, free_ram: int, free_cpu: int) -> HostState:
    return HostState(uuid=name, host=name, nodename=name, cell_uuid="c",
                     capacity={"MEMORY_MB": 10000, "VCPU": 100},
                     used={"MEMORY_MB": 10000 - free_ram, "VCPU": 100 - free_cpu})


def test_ram_and_cpu_weighers_combine():
    hosts = [host("a", 1000, 90), host("b", 9000, 10), host("c", 5000, 50)]
    ranked = weigh_hosts(hosts, load_weighers(["RAMWeigher", "CPUWeigher"]))
    weights = {h.host: w for h, w in ranked}
    assert weights["b"] == pytest.approx(1.0) and weights["a"] == pytest.approx(1.0)
    assert weights["c"] == pytest.approx(1.0)
    only_ram = weigh_hosts(hosts, load_weighers(["RAMWeigher"]))
    assert [h.host for h, _ in only_ram] == ["b", "c", "a"]


def test_unknown_weigher_is_named():
    with pytest.raises(ValueError, match="NoSuchWeigher"):
        load_weighers(["NoSuchWeigher"])
