"""The weigher contract, Nova's min-max normalisation and per-aggregate multipliers."""

from __future__ import annotations

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState


class BaseWeigher:
    """`weight` (or `weights`) is the raw value; normalised to 0..1 over the hosts, then times the multiplier.

    `option` names the scheduler option holding the multiplier; a host aggregate's metadata
    key of the same name overrides it for that aggregate's hosts (the smallest value wins
    when several aggregates set it, as in Nova).
    """

    name = "BaseWeigher"
    option: str | None = None
    needs: frozenset[str] = frozenset()

    def weight(self, host: HostState, ctx: SchedulingContext) -> float:
        return self.weights([host], ctx)[0]

    def weights(self, hosts: list[HostState], ctx: SchedulingContext) -> list[float]:
        """Raw weights of all hosts at once (the built-ins: no call per host); override this or `weight`."""
        return [self.weight(h, ctx) for h in hosts]

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


class WeighedHost:
    """A host with its total weight; `breakdown` (per weigher) is built only when read (the dry run)."""

    __slots__ = ("host", "weight", "_index", "_parts")

    def __init__(self, host: HostState, weight: float = 0.0, index: int = 0,
                 parts: dict[str, list[float]] | None = None):
        self.host, self.weight, self._index, self._parts = host, weight, index, parts or {}

    @property
    def breakdown(self) -> dict[str, float]:
        return {name: values[self._index] for name, values in self._parts.items()}


def _parts(weigher: BaseWeigher, hosts: list[HostState], ctx: SchedulingContext,
           per_host: bool, constant: float) -> list[float]:
    """multiplier x normalised weight for every host (+ 0.0 turns -0.0 into 0.0)."""
    raw = weigher.weights(hosts, ctx)
    low, high = min(raw), max(raw)
    if per_host:
        multipliers = [weigher.multiplier(h, ctx) for h in hosts]
        if high == low:
            return [m * 0.0 + 0.0 for m in multipliers]
        span = high - low
        return [m * ((v - low) / span) + 0.0 for m, v in zip(multipliers, raw)]
    if high == low:
        return [constant * 0.0 + 0.0] * len(hosts)
    span = high - low
    return [constant * ((v - low) / span) + 0.0 for v in raw]


def weigh_hosts(hosts: list[HostState], weighers: list[BaseWeigher],
                ctx: SchedulingContext) -> list[WeighedHost]:
    """Hosts with their total weight and its parts, heaviest first (ties keep placement's order)."""
    if not hosts:
        return []
    # Aggregate overrides are rare: look for them once, not once per host and weigher.
    overridden = {key for h in hosts for agg in h.aggregates for key in agg.metadata}
    totals = [0.0] * len(hosts)
    parts: dict[str, list[float]] = {}
    for weigher in weighers:
        per_host = bool(weigher.option) and weigher.option in overridden
        constant = weigher.default_multiplier(ctx)
        if constant == 0.0 and not per_host:
            continue
        values = parts[weigher.name] = _parts(weigher, hosts, ctx, per_host, constant)
        totals = [t + v for t, v in zip(totals, values)]
    order = sorted(range(len(hosts)), key=lambda i: -totals[i])
    return [WeighedHost(hosts[i], totals[i], i, parts) for i in order]
