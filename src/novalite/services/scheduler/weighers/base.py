"""Weighers: each scores hosts, scores are normalised to 0..1, multiplied and summed."""

from __future__ import annotations

from novalite.services.scheduler.host_state import HostState


class BaseWeigher:
    name = "BaseWeigher"
    multiplier = 1.0

    def weight(self, host: HostState) -> float:
        raise NotImplementedError


class RAMWeigher(BaseWeigher):
    name = "RAMWeigher"

    def weight(self, host: HostState) -> float:
        return float(host.free_ram_mb)


class CPUWeigher(BaseWeigher):
    name = "CPUWeigher"

    def weight(self, host: HostState) -> float:
        return float(host.free_vcpus)


class DiskWeigher(BaseWeigher):
    name = "DiskWeigher"

    def weight(self, host: HostState) -> float:
        return float(host.free_disk_gb)


_REGISTRY = {cls.name: cls for cls in (RAMWeigher, CPUWeigher, DiskWeigher)}


def load_weighers(names: list[str]) -> list[BaseWeigher]:
    weighers = []
    for name in names:
        cls = _REGISTRY.get(name)
        if cls is None:
            raise ValueError(f"unknown scheduler weigher '{name}'; known: {', '.join(sorted(_REGISTRY))}")
        weighers.append(cls())
    return weighers


def _normalise(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def weigh_hosts(hosts: list[HostState], weighers: list[BaseWeigher]) -> list[tuple[HostState, float]]:
    """Hosts with their total weight, heaviest first (ties keep placement's order)."""
    totals = [0.0] * len(hosts)
    for weigher in weighers:
        for i, norm in enumerate(_normalise([weigher.weight(h) for h in hosts])):
            totals[i] += weigher.multiplier * norm
    return sorted(zip(hosts, totals), key=lambda pair: -pair[1])
