"""The weigher contract, Nova's min-max normalisation and per-aggregate multipliers."""

from __future__ import annotations

from dataclasses import dataclass, field

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState


class BaseWeigher:
    """`weight` is the raw value; normalised to 0..1 over the hosts, then times the multiplier.

    `option` names the scheduler option holding the multiplier; a host aggregate's metadata
    key of the same name overrides it for that aggregate's hosts (the smallest value wins
    when several aggregates set it, as in Nova).
    """

    name = "BaseWeigher"
    option: str | None = None
    needs: frozenset[str] = frozenset()

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        raise NotImplementedError

    def default_multiplier(self, ctx: SchedulingContext) -> float:
        return float(getattr(ctx.options, self.option)) if self.option else 1.0

    def multiplier(self, host: HostState, ctx: SchedulingContext) -> float:
        if self.option:
            values = []
            for text in host.aggregate_metadata(self.option):
                try:
                    values.append(float(text))
                except ValueError:
                    continue  # bad aggregate metadata falls back to the configured multiplier
            if values:
                return min(values)
        return self.default_multiplier(ctx)


@dataclass
class WeighedHost:
    host: HostState
    weight: float = 0.0
    breakdown: dict[str, float] = field(default_factory=dict)


def normalise(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def weigh_hosts(hosts: list[HostState], weighers: list[BaseWeigher],
                ctx: SchedulingContext) -> list[WeighedHost]:
    """Hosts with their total weight and its parts, heaviest first (ties keep placement's order)."""
    weighed = [WeighedHost(h) for h in hosts]
    if not hosts:
        return weighed
    # Aggregate overrides are rare: look for them once, not once per host and weigher.
    overridden = {key for h in hosts for agg in h.aggregates for key in agg.metadata}
    for weigher in weighers:
        per_host = bool(weigher.option) and weigher.option in overridden
        constant = weigher.default_multiplier(ctx)
        if constant == 0.0 and not per_host:
            continue
        norms = normalise([weigher.weight(h, ctx) for h in hosts])
        for item, norm in zip(weighed, norms):
            part = (weigher.multiplier(item.host, ctx) if per_host else constant) * norm + 0.0  # no -0.0
            item.breakdown[weigher.name] = part
            item.weight += part
    weighed.sort(key=lambda item: -item.weight)
    return weighed
