"""JsonFilter: the `query` scheduler hint, a JSON expression over host attributes.

Example: `["and", [">=", "$free_ram_mb", 1024], ["<", "$num_instances", 10]]`.
Operators (Nova's): =, <, >, in, <=, >=, not, or, and. `$name` reads a host attribute.
"""

from __future__ import annotations

import json
import operator
from typing import Any, Callable

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.filters.base import BaseHostFilter, register
from novalite.services.scheduler.filters.capabilities import host_capabilities
from novalite.services.scheduler.host_state import HostState


class QueryError(ValueError):
    """The query hint is not a valid expression (the API reports it as a 400)."""


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[list[Any]], bool]:
    def run(args: list[Any]) -> bool:
        if len(args) < 2:
            return False
        return all(op(args[0], other) for other in args[1:])
    return run


_OPS: dict[str, Callable[[list[Any]], bool]] = {
    "=": _compare(operator.eq), "<": _compare(operator.lt), ">": _compare(operator.gt),
    "<=": _compare(operator.le), ">=": _compare(operator.ge),
    "in": lambda args: len(args) > 1 and args[0] in args[1:],
    "not": lambda args: not any(args), "or": any, "and": lambda args: all(args) if args else False,
}


def parse_query(text: Any) -> list[Any]:
    query = json.loads(text) if isinstance(text, str) else text
    _check(query)
    return query


def _check(expr: Any) -> None:
    if isinstance(expr, list):
        if not expr or expr[0] not in _OPS:
            raise QueryError(f"unknown JsonFilter operator in {expr!r}; use one of {', '.join(_OPS)}")
        for arg in expr[1:]:
            _check(arg)


def evaluate(expr: Any, caps: dict[str, Any]) -> Any:
    if isinstance(expr, list):
        return _OPS[expr[0]]([evaluate(arg, caps) for arg in expr[1:]])
    if isinstance(expr, str) and expr.startswith("$"):
        value: Any = caps
        for part in expr[1:].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return expr


@register
class JsonFilter(BaseHostFilter):
    name = "JsonFilter"

    def applies(self, ctx: SchedulingContext) -> bool:
        return bool(ctx.spec.scheduler_hints.get("query"))

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        text = ctx.spec.scheduler_hints.get("query")
        if not text:
            return None
        query = parse_query(text[0] if isinstance(text, list) else text)
        try:
            passes = bool(evaluate(query, host_capabilities(host)))
        except TypeError:  # comparing a missing attribute (None) with a number
            passes = False
        return None if passes else f"query {json.dumps(query)} is false here"
