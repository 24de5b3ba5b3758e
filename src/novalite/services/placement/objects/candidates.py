"""Allocation candidates: combine request groups per tree, lazily, stopping at `limit`.

Groups are solved per anchor tree by a depth-first search that accumulates usage as it
goes, so a combination over capacity is pruned before it is completed and nothing beyond
`limit` is ever built (OpenStack Placement builds every combination, then trims).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from novalite.services.placement.objects import candidate_data as cd
from novalite.services.placement.objects import providers, resource_classes, traits
from novalite.services.placement.objects.common import Executor
from novalite.services.placement.objects.exceptions import InvalidRequest
from novalite.services.placement.objects.filters import AggregateFilter, TraitFilter


@dataclass
class Group:
    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    traits: TraitFilter = field(default_factory=TraitFilter)
    aggregates: AggregateFilter = field(default_factory=AggregateFilter)
    in_tree: str | None = None

    @property
    def granular(self) -> bool:
        return self.suffix != ""


@dataclass
class CandidateRequest:
    groups: list[Group]
    group_policy: str | None = None
    same_subtree: list[list[str]] = field(default_factory=list)
    root_traits: TraitFilter = field(default_factory=TraitFilter)
    limit: int | None = None
    nested_aware: bool = True
    distinct_mappings: bool = True     # since 1.34 mappings make otherwise equal requests distinct


@dataclass
class Candidate:
    allocations: dict[int, dict[int, int]]      # provider id -> class id -> amount
    mappings: dict[str, list[int]]              # suffix -> provider ids


@dataclass
class CandidateResult:
    candidates: list[Candidate]
    data: cd.TreeData
    rc_names: dict[int, str]
    summary_ids: list[int]


# One way to serve a group: ((rp, rc, amount), ...) and the providers it maps to.
Option = tuple[tuple[tuple[int, int, int], ...], tuple[int, ...]]


class _Search:
    def __init__(self, request: CandidateRequest, rc_ids: dict[str, int], data: cd.TreeData,
                 tree_of_group: dict[str, int | None]):
        self.req, self.data, self.tree_of_group = request, data, tree_of_group
        self.amounts = {g.suffix: [(rc_ids[rc], amt) for rc, amt in g.resources.items()] for g in request.groups}
        self.isolate = request.group_policy == "isolate"
        self.seen: set[object] = set()
        self.simple = len(request.groups) == 1 and not request.groups[0].granular
        # `single` runs once per tree (thousands of times): decide once which filters it needs
        first = request.groups[0]
        self.single_filtered = bool(first.traits or first.aggregates or request.root_traits)

    def _aggs_ok(self, group: Group, rp: int) -> bool:
        if not group.aggregates:
            return True
        data = self.data
        mine = data.aggregates.get(rp, set()) | data.aggregates.get(data.root[rp], set())
        return group.aggregates.matches(mine)

    def _pool(self, group: Group, root: int) -> list[int]:
        pool = list(self.data.members.get(root, ()))
        if not self.req.nested_aware:
            pool = [rp for rp in pool if self.data.parent[rp] is None]
        if group.in_tree is None:
            pool += [s for s in self.data.sharing_for_root.get(root, ()) if self.data.root[s] != root]
        return pool

    def options(self, group: Group, root: int) -> Iterator[Option]:
        wanted_tree = self.tree_of_group.get(group.suffix)
        if wanted_tree is not None and wanted_tree != root:
            return
        data, amounts = self.data, self.amounts[group.suffix]
        pool = self._pool(group, root)
        if group.granular:
            for rp in pool:
                inv = data.inventory.get(rp, {})
                if all(rc in inv and inv[rc].fits(amt) for rc, amt in amounts) \
                        and (not group.traits or group.traits.matches(data.traits.get(rp, set()))) \
                        and self._aggs_ok(group, rp) \
                        and (amounts or data.root[rp] == root):
                    yield tuple((rp, rc, amt) for rc, amt in amounts), (rp,)
            return
        if not amounts:
            yield (), ()
            return
        per_class = []
        for rc, amt in amounts:
            rps = [rp for rp in pool if rc in data.inventory.get(rp, {}) and data.inventory[rp][rc].fits(amt)
                   and self._aggs_ok(group, rp)]
            if not rps:
                return
            per_class.append([(rp, rc, amt) for rp in rps])
        for combo in itertools.product(*per_class):
            used_rps = tuple(sorted({rp for rp, _, _ in combo}))
            if group.traits:
                have: set[str] = set()
                for rp in used_rps:
                    have |= data.traits.get(rp, set())
                if not group.traits.matches(have):
                    continue
            yield combo, used_rps

    def single(self, root: int) -> Candidate | None:
        """The common case, one group and a one-provider tree: no combinations to explore."""
        inv = self.data.inventory.get(root)
        if inv is None:
            return None
        amounts = self.amounts[""]
        for rc, amt in amounts:
            row = inv.get(rc)
            if row is None or not row.fits(amt):
                return None
        if self.single_filtered and not self._single_filters_ok(root):
            return None
        return Candidate({root: dict(amounts)}, {"": [root]})

    def _single_filters_ok(self, root: int) -> bool:
        group, data = self.req.groups[0], self.data
        if group.traits and not group.traits.matches(data.traits.get(root, set())):
            return False
        if group.aggregates and not group.aggregates.matches(data.aggregates.get(root, set())):
            return False
        return not (self.req.root_traits and not self.req.root_traits.matches(data.traits.get(root, set())))

    def is_single(self, root: int) -> bool:
        return (self.simple and len(self.data.members.get(root, ())) == 1
                and not self.data.sharing_for_root.get(root))

    def solve(self, root: int) -> Iterator[Candidate]:
        """Every distinct candidate anchored at `root`, lazily."""
        groups = self.req.groups
        if self.req.root_traits and not self.req.root_traits.matches(self.data.traits.get(root, set())):
            return
        # A granular group has at most one option per provider: keep those in a list. The
        # unsuffixed group's options are a product over classes that can be huge in a
        # wide tree, so it is generated afresh each time the search reaches it.
        choices: list[Callable[[], Iterable[Option]]] = []
        for group in groups:
            if group.granular:
                opts = list(self.options(group, root))
                choices.append(lambda opts=opts: opts)  # type: ignore[misc]
            else:
                choices.append(lambda group=group: self.options(group, root))  # type: ignore[misc]
            if next(iter(choices[-1]()), None) is None:
                return
        usage: dict[tuple[int, int], int] = {}
        picked: list[Option] = []
        granular_rps: set[int] = set()

        def dfs(depth: int) -> Iterator[Candidate]:
            if depth == len(groups):
                candidate = self._finish(picked)
                if candidate is not None:
                    yield candidate
                return
            group = groups[depth]
            for option in choices[depth]():
                resources, rps = option
                if self.isolate and group.granular and rps and rps[0] in granular_rps:
                    continue
                if not all(self.data.inventory[rp][rc].fits(amt, usage.get((rp, rc), 0))
                           for rp, rc, amt in resources):
                    continue
                for rp, rc, amt in resources:
                    usage[(rp, rc)] = usage.get((rp, rc), 0) + amt
                if group.granular and rps:
                    granular_rps.add(rps[0])
                picked.append(option)
                yield from dfs(depth + 1)
                picked.pop()
                if group.granular and rps:
                    granular_rps.discard(rps[0])
                for rp, rc, amt in resources:
                    usage[(rp, rc)] -= amt

        yield from dfs(0)

    def _finish(self, picked: list[Option]) -> Candidate | None:
        mappings = {g.suffix: list(opt[1]) for g, opt in zip(self.req.groups, picked) if opt[1]}
        for subtree in self.req.same_subtree:
            rps = {rp for suffix in subtree for rp in mappings.get(suffix, ())}
            if not self._same_subtree(rps):
                return None
        allocations: dict[int, dict[int, int]] = {}
        for resources, _ in picked:
            for rp, rc, amt in resources:
                per_rp = allocations.setdefault(rp, {})
                per_rp[rc] = per_rp.get(rc, 0) + amt
        key: object = tuple(sorted((rp, tuple(sorted(r.items()))) for rp, r in allocations.items()))
        if self.req.distinct_mappings:
            key = (key, tuple(sorted((s, tuple(sorted(v))) for s, v in mappings.items())))
        if key in self.seen:
            return None
        self.seen.add(key)
        return Candidate(allocations, mappings)

    def _same_subtree(self, rps: set[int]) -> bool:
        if len(rps) <= 1:
            return True
        common: set[int] | None = None
        for rp in rps:
            ancestors = set()
            node: int | None = rp
            while node is not None:
                ancestors.add(node)
                node = self.data.parent.get(node)
            common = ancestors if common is None else common & ancestors
        return bool(common and common & rps)


def _tree_filter(request: CandidateRequest, sharing: bool, flat: bool) -> cd.TreeFilter:
    """What every viable tree must satisfy, derived from the groups (see cd.TreeFilter).

    `flat`: no nested and no sharing providers, so every group is served by the root
    alone and its forbidden traits rule the tree out too.
    """
    tree_filter = cd.TreeFilter(root_traits=list(request.root_traits.required),
                                root_not_traits=set(request.root_traits.forbidden))
    for g in request.groups:
        if not sharing:
            tree_filter.tree_traits += g.traits.required
            tree_filter.tree_aggregates += g.aggregates.member_of
            tree_filter.root_not_in_aggregates |= g.aggregates.forbidden
        if flat:
            tree_filter.root_not_traits |= g.traits.forbidden
    return tree_filter


async def find(session: Executor, request: CandidateRequest) -> CandidateResult:
    """Allocation candidates for `request`; `limit` bounds the work, not just the answer."""
    rc_ids = await resource_classes.ids_for(session, {rc for g in request.groups for rc in g.resources})
    unknown = sorted({rc for g in request.groups for rc in g.resources} - rc_ids.keys())
    if unknown:
        raise InvalidRequest(f"Invalid resource class in resources parameter: {', '.join(unknown)}")
    trait_names = request.root_traits.names()
    for g in request.groups:
        trait_names |= g.traits.names()
    await traits.require_ids(session, trait_names)
    empty = CandidateResult([], cd.TreeData(), {}, [])

    tree_of_group: dict[str, int | None] = {}
    for g in request.groups:
        if g.in_tree is not None:
            anchor = await providers.get(session, g.in_tree)
            if anchor is None:
                return empty
            tree_of_group[g.suffix] = anchor.root_id
    allowed = set(tree_of_group.values()) if tree_of_group else None
    if allowed is not None and len(allowed) > 1:
        return empty

    sharing = await cd.sharing_provider_ids(session)
    anchors = await cd.anchors_of_sharing(session, sharing)
    needs: dict[tuple[int, bool], cd.Need] = {}
    for g in request.groups:
        for rc, amount in g.resources.items():
            # one need per class (the smallest amount asked): the search checks the rest
            key = (rc_ids[rc], g.in_tree is None)
            if key not in needs or needs[key].amount > amount:
                needs[key] = cd.Need(rc_ids[rc], amount)
    for (rc_id, may_share), need in needs.items():
        if sharing and may_share:
            for s in await cd.providers_with_capacity(session, rc_id, need.amount, sharing):
                need.shared_roots |= anchors[s]
    if not needs:
        return empty
    nested = await cd.has_nested_providers(session)
    flat = not nested and not sharing
    roots_query = cd.roots_query(list(needs.values()), allowed, _tree_filter(request, bool(sharing), flat),
                                 nested=nested)
    with_aggregates = bool(sharing) or any(g.aggregates for g in request.groups)

    data = cd.TreeData()
    search = _Search(request, rc_ids, data, tree_of_group)
    found: list[Candidate] = []
    limit = request.limit
    # Flat trees are checked in full by SQL, so each root it returns is (nearly always) a
    # candidate: a batch of `limit` suffices. Deeper trees may fail in the search: ask more.
    batch = None if limit is None else limit if flat else max(2 * limit, 100)
    offset = 0
    while True:
        roots = await cd.load_trees(session, cd.page(roots_query, offset, batch), data, with_aggregates)
        extra_ids = set()
        for s, anchored in anchors.items():
            for root in roots:
                if root in anchored:
                    data.sharing_for_root.setdefault(root, []).append(s)
                    extra_ids.add(s)
        if extra_ids - data.uuid.keys():
            await cd.load_trees(session, cd.RP.c.id.in_(extra_ids - data.uuid.keys()), data, with_aggregates)
        for root in roots:
            if search.is_single(root):
                candidate = search.single(root)
                if candidate is not None:
                    found.append(candidate)
            else:
                for candidate in search.solve(root):
                    found.append(candidate)
                    if limit is not None and len(found) >= limit:
                        break
            if limit is not None and len(found) >= limit:
                break
        if batch is None or len(roots) < batch or len(found) >= (limit or 0):
            break
        offset += batch

    tree_roots = {data.root[rp] for c in found for rp in c.allocations}
    tree_roots |= {data.root[rp] for c in found for rps in c.mappings.values() for rp in rps}
    summary_ids = [rp for root in sorted(tree_roots) for rp in data.members.get(root, ())]
    rc_names = await resource_classes.names_for(session, {rc for inv in data.inventory.values() for rc in inv})
    return CandidateResult(found, data, rc_names, summary_ids)
