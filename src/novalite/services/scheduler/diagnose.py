"""Why placement had no candidates: ask again without each constraint and say which one was short.

A constraint whose removal brings back candidates is one that no host satisfies together
with the rest (a resource class short everywhere, a trait nobody has, an empty zone).
When no single removal helps, several constraints are short at once and we say so.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from novalite.services.placement.client import CandidateQuery, RequestGroup
from novalite.services.scheduler.placement_query import QueryPlan

Ask = Callable[[CandidateQuery], Awaitable[dict[str, Any]]]


def variants(plan: QueryPlan) -> list[tuple[str, CandidateQuery]]:
    query = plan.query
    out: list[tuple[str, CandidateQuery]] = []
    groups: list[tuple[str, RequestGroup]] = [("", query.unsuffixed), *query.granular.items()]
    for suffix, group in groups:
        where = f" (group {suffix})" if suffix else ""

        def without(**changes: Any) -> CandidateQuery:
            copy = query.model_copy(deep=True)
            target = copy.unsuffixed if not suffix else copy.granular[suffix]
            for name, value in changes.items():
                setattr(target, name, value)
            return copy

        for rc, amount in group.resources.items():
            if len(group.resources) > 1 or suffix:
                rest = {k: v for k, v in group.resources.items() if k != rc}
                out.append((f"{rc}:{amount}{where}", without(resources=rest)))
        for trait in group.required:
            label = f"no host without trait {trait[1:]}" if trait.startswith("!") else f"trait {trait}"
            out.append((f"{label}{where}", without(required=[t for t in group.required if t != trait])))
        for term in group.member_of:
            label = plan.labels.get(term, f"member_of {term}")
            out.append((f"{label}{where}", without(member_of=[m for m in group.member_of if m != term])))
    return out


def _count_roots(candidates: dict[str, Any]) -> int:
    summaries = candidates.get("provider_summaries", {})
    roots = set()
    for request in candidates.get("allocation_requests", []):
        first = next(iter(request["allocations"]))
        roots.add(summaries.get(first, {}).get("root_provider_uuid", first))
    return len(roots)


async def why_no_candidates(plan: QueryPlan, ask: Ask) -> str:
    """One sentence naming the constraint(s) placement could not meet."""
    short = []
    for label, query in variants(plan):
        found = _count_roots(await ask(query.model_copy(update={"limit": 1000})))
        if found:
            short.append(f"{label} (without it: {found} host{'s' if found != 1 else ''})")
    if short:
        return "short: " + "; ".join(short)
    return "no single constraint explains it: several resources or traits are short together"
