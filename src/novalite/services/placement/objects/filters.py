"""Parsing Placement's filter mini-languages: `resources`, `required`, `member_of`.

Pure functions (no I/O) shared by the HTTP handlers and the in-process client, so both
read `"!CUSTOM_X"` or `"in:a,b"` the same way.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass, field

from novalite.services.placement.objects.exceptions import QUERYPARAM_BAD_VALUE, InvalidRequest

_RC_NAME = re.compile(r"^[A-Z0-9_]+$")


@dataclass
class TraitFilter:
    required: list[frozenset[str]] = field(default_factory=list)   # each set: any of these
    forbidden: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.required or self.forbidden)

    def names(self) -> set[str]:
        out = set(self.forbidden)
        for any_of in self.required:
            out |= any_of
        return out

    def matches(self, traits: set[str] | frozenset[str]) -> bool:
        if self.forbidden & traits:
            return False
        return all(any_of & traits for any_of in self.required)


@dataclass
class AggregateFilter:
    member_of: list[frozenset[str]] = field(default_factory=list)   # each set: member of any
    forbidden: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.member_of or self.forbidden)

    def matches(self, aggs: set[str] | frozenset[str]) -> bool:
        if self.forbidden & aggs:
            return False
        return all(any_of & aggs for any_of in self.member_of)


# Inventory totals are 32-bit in Placement's schema: no amount above this can ever fit.
MAX_AMOUNT = 2147483647


def parse_resources(value: str, param: str = "resources") -> dict[str, int]:
    """`VCPU:2,MEMORY_MB:512` -> {"VCPU": 2, "MEMORY_MB": 512}; amounts must be positive."""
    out: dict[str, int] = {}
    for item in value.split(","):
        name, sep, amount = item.strip().partition(":")
        name = name.strip()
        if not sep or not name or not _RC_NAME.match(name):
            raise InvalidRequest(
                f"Badly formed {param} parameter. Expected {param} query string parameter "
                f"in form: ?{param}=VCPU:2,MEMORY_MB:1024. Got: {value}.", QUERYPARAM_BAD_VALUE)
        try:
            number = int(amount)
        except ValueError:
            number = -1
        if number < 1 or not amount.strip().isdigit():
            raise InvalidRequest(
                f"Requested resource {name} expected positive integer amount. Got: {amount}.",
                QUERYPARAM_BAD_VALUE)
        if number > MAX_AMOUNT:
            raise InvalidRequest(
                f"Requested resource {name} amount {number} is more than the largest an inventory can "
                f"hold ({MAX_AMOUNT}).", QUERYPARAM_BAD_VALUE)
        if name in out:
            raise InvalidRequest(f"Resource class {name} appears more than once in {param}: {value}.",
                                 QUERYPARAM_BAD_VALUE)
        out[name] = number
    return out


def parse_required(values: list[str], allow_forbidden: bool, allow_any_of: bool,
                   param: str = "required") -> TraitFilter:
    """Each value: comma-separated traits, `!TRAIT` forbids (1.22), `in:A,B` any-of (1.39)."""
    result = TraitFilter()
    for value in values:
        if allow_any_of and value.startswith("in:"):
            names = [n.strip() for n in value[3:].split(",")]
            if not all(names) or any(n.startswith("!") for n in names):
                raise InvalidRequest(f"Invalid query string parameters: Expected '{param}' parameter "
                                     f"value of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}",
                                     QUERYPARAM_BAD_VALUE)
            result.required.append(frozenset(names))
            continue
        names = [n.strip() for n in value.split(",")]
        if not all(names):
            raise InvalidRequest(f"Invalid query string parameters: Expected '{param}' parameter "
                                 f"value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}",
                                 QUERYPARAM_BAD_VALUE)
        for name in names:
            if name.startswith("!"):
                if not allow_forbidden or len(name) == 1:
                    raise InvalidRequest(f"Invalid query string parameters: Expected '{param}' parameter "
                                         f"value of the form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {value}",
                                         QUERYPARAM_BAD_VALUE)
                result.forbidden.add(name[1:])
            else:
                result.required.append(frozenset([name]))
    overlap = result.forbidden & {n for s in result.required if len(s) == 1 for n in s}
    if overlap:
        raise InvalidRequest(f"Conflicting required and forbidden traits found in the following "
                             f"traits keys: {', '.join(sorted(overlap))}", QUERYPARAM_BAD_VALUE)
    return result


def _check_uuids(values: list[str], raw: str) -> frozenset[str]:
    for v in values:
        try:
            uuidlib.UUID(v)
        except ValueError:
            raise InvalidRequest(
                f"Invalid query string parameters: Expected 'member_of' parameter to contain valid "
                f"UUID(s). Got: {raw}", QUERYPARAM_BAD_VALUE) from None
    return frozenset(values)


def parse_member_of(values: list[str], allow_multiple: bool, allow_forbidden: bool) -> AggregateFilter:
    """`uuid`, `in:u1,u2` (1.21), repeated params AND (1.24), `!uuid` / `!in:` (1.32)."""
    if len(values) > 1 and not allow_multiple:
        raise InvalidRequest("Multiple member_of parameters are not supported", QUERYPARAM_BAD_VALUE)
    result = AggregateFilter()
    for raw in values:
        value, negative = raw, False
        if value.startswith("!"):
            if not allow_forbidden:
                raise InvalidRequest(
                    f"Invalid query string parameters: Expected 'member_of' parameter to contain valid "
                    f"UUID(s). Got: {raw}", QUERYPARAM_BAD_VALUE)
            value, negative = value[1:], True
        if value.startswith("in:"):
            uuids = _check_uuids([v.strip() for v in value[3:].split(",")], raw)
        else:
            if "," in value:
                raise InvalidRequest(
                    f"Invalid query string parameters: Expected 'member_of' parameter to contain valid "
                    f"UUID(s). Got: {raw}", QUERYPARAM_BAD_VALUE)
            uuids = _check_uuids([value.strip()], raw)
        if negative:
            result.forbidden |= uuids
        else:
            result.member_of.append(uuids)
    return result
