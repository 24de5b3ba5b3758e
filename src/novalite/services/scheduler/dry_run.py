"""The admin dry run: what the scheduler would do with a request, host by host, claiming nothing."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from novalite.context import RequestContext
from novalite.records import RequestSpecRecord
from novalite.services.scheduler import groups
from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.diagnose import variants
from novalite.services.scheduler.host_manager import roots_of
from novalite.services.scheduler.pipeline import Pipeline, filters_emptied

ContextFn = Callable[[RequestContext, RequestSpecRecord, list[str], str | None], Awaitable[SchedulingContext]]


async def _placement_reasons(pipeline: Pipeline, ctx: RequestContext, found: Any, missing: set[str]) -> dict[str, str]:
    """For hosts placement left out: the constraint whose removal would let each back in."""
    placement = pipeline.runtime.require_placement()
    reasons: dict[str, str] = {}
    for label, query in variants(found.plan):
        if not missing - set(reasons):
            break
        back = set(roots_of(await placement.get_allocation_candidates(ctx, query.model_copy(update={"limit": None}))))
        for uuid in (missing & back) - set(reasons):
            reasons[uuid] = f"does not satisfy {label}"
    return reasons


async def explain(pipeline: Pipeline, ctx: RequestContext, spec: RequestSpecRecord,
                  context_fn: ContextFn) -> dict[str, Any]:
    found = await pipeline.candidates(ctx, spec, limit=None)
    cache = pipeline.cache
    await cache.nodes_for([])
    offered = {h.uuid for h in found.hosts}
    missing = set(cache.nodes) - offered
    reasons = await _placement_reasons(pipeline, ctx, found, missing) if missing and not found.plan.impossible else {}
    rows: list[dict[str, Any]] = []
    for uuid in sorted(missing, key=lambda u: cache.nodes[u].host):
        node = cache.nodes[uuid]
        reason = found.plan.impossible or reasons.get(uuid) or "several placement constraints are unmet"
        rows.append({"host": node.host, "node": node.nodename, "compute_node_uuid": uuid,
                     "result": "rejected", "step": "placement", "reason": reason})
    group_uuid = groups.group_uuid_of(spec)
    sctx = await context_fn(ctx, spec, [], group_uuid)
    run = pipeline.run_filters(found.hosts, sctx)
    for host in found.hosts:
        if host.uuid in run.rejected:
            step, reason = run.rejected[host.uuid]
            rows.append({"host": host.host, "node": host.nodename, "compute_node_uuid": host.uuid,
                         "result": "rejected", "step": step, "reason": reason})
    weighed = pipeline.weigh(run.passed, sctx)
    for rank, item in enumerate(weighed, start=1):
        rows.append({"host": item.host.host, "node": item.host.nodename, "compute_node_uuid": item.host.uuid,
                     "result": "accepted", "rank": rank, "weight": round(item.weight, 6),
                     "weighers": {k: round(v, 6) for k, v in item.breakdown.items()}})
    steps = [found.step] + run.steps
    summary = "; ".join(steps)
    if not found.hosts:
        summary = f"{found.step}; {found.empty_reason or 'no compute node matched'}"
    elif not run.passed:
        summary = f"{found.step}; {filters_emptied(run, found.hosts)}"
    return {"placement_query": found.plan.query.to_params(), "steps": steps, "summary": summary,
            "selected": weighed[0].host.host if weighed else None, "hosts": rows}
