"""GET /allocation_candidates as parameters in and a JSON body out, without HTTP.

The handler and the in-process client both go through here, so a CandidateQuery and a
query string mean exactly the same thing and produce exactly the same body.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from typing import Any

from novalite.services.placement.microversion import Version
from novalite.services.placement.objects.candidates import CandidateRequest, CandidateResult, Group
from novalite.services.placement.objects.exceptions import (
    ILLEGAL_DUPLICATE_QUERYPARAM,
    QUERYPARAM_BAD_VALUE,
    InvalidRequest,
)
from novalite.services.placement.objects.filters import MAX_AMOUNT, parse_member_of, parse_required, parse_resources

_GROUP_KEY = re.compile(r"^(resources|required|member_of|in_tree)(.*)$")
_SUFFIX_NUMERIC = re.compile(r"^[1-9][0-9]*$")
_SUFFIX_ANY = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_REPEATABLE = {"required", "member_of", "root_required", "same_subtree"}


def _bad(detail: str) -> InvalidRequest:
    return InvalidRequest(detail, QUERYPARAM_BAD_VALUE)


def parse(params: list[tuple[str, str]], version: Version) -> CandidateRequest:
    """Read the query string with the rules of `version`; InvalidRequest names any problem."""
    granular_ok = version >= (1, 25)
    suffix_re = _SUFFIX_ANY if version >= (1, 33) else _SUFFIX_NUMERIC
    request_wide = {"limit": (1, 16), "group_policy": (1, 25), "root_required": (1, 35), "same_subtree": (1, 36)}
    group_since = {"resources": (1, 0), "required": (1, 17), "member_of": (1, 21), "in_tree": (1, 31)}
    grouped: dict[str, dict[str, list[str]]] = {}
    wide: dict[str, list[str]] = {}
    for key, value in params:
        match = _GROUP_KEY.match(key)
        if key in request_wide and version >= request_wide[key]:
            wide.setdefault(key, []).append(value)
            continue
        if match and version >= group_since[match.group(1)]:
            kind, suffix = match.groups()
            if suffix == "" or (granular_ok and suffix_re.match(suffix)):
                grouped.setdefault(suffix, {}).setdefault(kind, []).append(value)
                continue
        raise _bad(f"Invalid query string parameters: Additional properties are not allowed "
                   f"('{key}' was unexpected)")
    for key, values in [*wide.items(), *((k, v) for g in grouped.values() for k, v in g.items())]:
        if len(values) > 1 and key not in _REPEATABLE:
            raise InvalidRequest(f"Query parameter {key!r} is allowed only once.", ILLEGAL_DUPLICATE_QUERYPARAM)

    groups: list[Group] = []
    for suffix in sorted(grouped, key=lambda s: (s != "", s)):
        raw = grouped[suffix]
        name = lambda base: f"{base}{suffix}"  # noqa: E731
        group = Group(suffix=suffix)
        if "resources" in raw:
            group.resources = parse_resources(raw["resources"][0], name("resources"))
        if "required" in raw:
            group.traits = parse_required(raw["required"], version >= (1, 22), version >= (1, 39), name("required"))
        if "member_of" in raw:
            group.aggregates = parse_member_of(raw["member_of"], version >= (1, 24), version >= (1, 32))
        if "in_tree" in raw:
            group.in_tree = _uuid(raw["in_tree"][0], name("in_tree"))
        groups.append(group)

    if not any(g.resources for g in groups):
        if not granular_ok:
            raise _bad("Invalid query string parameters: 'resources' is a required property")
        raise _bad("At least one request group (`resources` or `resources{$S}`) is required.")

    request = CandidateRequest(groups=groups, nested_aware=version >= (1, 29),
                               distinct_mappings=version >= (1, 34))
    if "limit" in wide:
        value = wide["limit"][0]
        if not value.isdigit() or int(value) < 1:
            raise _bad(f"Invalid query string parameters: '{value}' does not match '^[1-9][0-9]*$'")
        request.limit = min(int(value), MAX_AMOUNT)  # more than that is "no limit" in practice
    if "group_policy" in wide:
        policy = wide["group_policy"][0]
        if policy not in ("none", "isolate"):
            raise _bad(f"Invalid query string parameters: '{policy}' is not one of ['none', 'isolate']")
        request.group_policy = policy
    granular = [g for g in groups if g.granular]
    if len(granular) > 1 and request.group_policy is None:
        raise _bad("The \"group_policy\" parameter is required when specifying more than one "
                   "\"resources{N}\" parameter.")
    if "root_required" in wide:
        request.root_traits = parse_required(wide["root_required"], True, False, "root_required")
    suffixes = {g.suffix for g in groups}
    for value in wide.get("same_subtree", []):
        names = [s.strip() for s in value.split(",")]
        unknown = [s for s in names if s not in suffixes or s == ""]
        if unknown:
            raise _bad(f"Real suffixes should be specified in same_subtree: {unknown}")
        request.same_subtree.append(names)
    in_subtree = {s for names in request.same_subtree for s in names}
    for g in groups:
        if g.granular and not g.resources:
            if version < (1, 36):
                raise _bad(f"All traits parameters must be associated with resources. Found the following "
                           f"suffixed groups without resources: {g.suffix}")
            if g.suffix not in in_subtree:
                raise _bad(f"Resourceless suffixed group request should be specified in `same_subtree` "
                           f"query param: {g.suffix}")
    return request


def _uuid(value: str, key: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise _bad(f"Invalid query string parameters: Expected '{key}' parameter to be a format of "
                   f"uuid. Got: {value}") from None


def render(result: CandidateResult, request: CandidateRequest, version: Version) -> dict[str, Any]:
    """The response body, shaped for `version`."""
    data, names = result.data, result.rc_names
    uuid = data.uuid
    requests: list[dict[str, Any]] = []
    dict_form, with_mappings = version >= (1, 12), version >= (1, 34)
    for c in result.candidates:
        if dict_form:
            entry: dict[str, Any] = {"allocations": {
                uuid[rp]: {"resources": {names[rc]: amt for rc, amt in res.items()}}
                for rp, res in c.allocations.items()}}
            if with_mappings:
                entry["mappings"] = {s: [uuid[rp] for rp in rps] for s, rps in c.mappings.items()}
        else:
            entry = {"allocations": [
                {"resource_provider": {"uuid": uuid[rp]}, "resources": {names[rc]: amt for rc, amt in res.items()}}
                for rp, res in c.allocations.items()]}
        requests.append(entry)

    all_classes = version >= (1, 27)
    requested = {rc for g in request.groups for rc in g.resources}
    with_traits, with_tree = version >= (1, 17), version >= (1, 29)
    summaries: dict[str, Any] = {}
    for rp in result.summary_ids:
        resources = {}
        for rc, inv in data.inventory.get(rp, {}).items():
            if all_classes or names[rc] in requested:
                resources[names[rc]] = {"capacity": inv.capacity, "used": inv.used}
        summary: dict[str, Any] = {"resources": resources}
        if with_traits:
            summary["traits"] = sorted(data.traits.get(rp, ()))
        if with_tree:
            parent = data.parent[rp]
            summary["parent_provider_uuid"] = uuid[parent] if parent is not None else None
            summary["root_provider_uuid"] = uuid[data.root[rp]]
        summaries[uuid[rp]] = summary
    return {"allocation_requests": requests, "provider_summaries": summaries}


def render_json(result: CandidateResult, request: CandidateRequest, version: Version) -> str:
    """`render` as JSON text, written directly: the body can hold thousands of candidates.

    Every string in it is a UUID or a class or trait name, which the API restricts to
    characters JSON never escapes, so no escaping pass is needed.
    """
    if version < (1, 29):
        return json.dumps(render(result, request, version), separators=(",", ":"))
    data, names, uuid = result.data, result.rc_names, result.data.uuid
    with_mappings = version >= (1, 34)
    # most candidates ask the same amounts of the same classes: write each set once
    amounts_text: dict[tuple[tuple[int, int], ...], str] = {}

    def amounts(res: dict[int, int]) -> str:
        key = tuple(res.items())
        text = amounts_text.get(key)
        if text is None:
            text = amounts_text[key] = ",".join('"%s":%d' % (names[rc], amt) for rc, amt in key)
        return text

    requests = []
    for c in result.candidates:
        allocs = ",".join('"%s":{"resources":{%s}}' % (uuid[rp], amounts(res)) for rp, res in c.allocations.items())
        if with_mappings:
            mappings = ",".join('"%s":["%s"]' % (s, '","'.join([uuid[rp] for rp in rps]))
                                for s, rps in c.mappings.items())
            requests.append('{"allocations":{%s},"mappings":{%s}}' % (allocs, mappings))
        else:
            requests.append('{"allocations":{%s}}' % allocs)
    summaries = []
    inventory, traits_of, parents, roots = data.inventory, data.traits, data.parent, data.root
    for rp in result.summary_ids:
        resources = ",".join(['"%s":{"capacity":%d,"used":%d}' % (names[rc], inv.capacity, inv.used)
                              for rc, inv in inventory.get(rp, {}).items()])
        traits = traits_of.get(rp)
        parent = parents[rp]
        summaries.append('"%s":{"resources":{%s},"traits":[%s],"parent_provider_uuid":%s,"root_provider_uuid":"%s"}' % (
            uuid[rp], resources, '"%s"' % '","'.join(sorted(traits)) if traits else "",
            '"%s"' % uuid[parent] if parent is not None else "null", uuid[roots[rp]]))
    return '{"allocation_requests":[%s],"provider_summaries":{%s}}' % (",".join(requests), ",".join(summaries))
