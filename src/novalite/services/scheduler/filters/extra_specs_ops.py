"""Nova's extra-spec matching language ('>= 4', 's== x', '<in> sse', '<or> a <or> b', ...)."""

from __future__ import annotations

import operator
from typing import Any, Callable

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.ge,        # Nova: '=' on numbers means "at least"
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
}
_STRING: dict[str, Callable[[str, str], bool]] = {
    "s==": operator.eq, "s!=": operator.ne, "s<": operator.lt, "s<=": operator.le,
    "s>": operator.gt, "s>=": operator.ge,
}


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def match(value: Any, requirement: str) -> bool:
    """Whether a host's `value` satisfies one extra-spec `requirement`."""
    words = requirement.split()
    if not words:
        return str(value) == requirement
    op, args = words[0], words[1:]
    if op == "<or>":
        choices = [w for w in words[1:] if w != "<or>"]
        return str(value) in choices
    if op == "<in>" and args:
        return args[0] in str(value)
    if op == "<all-in>" and args:
        have = value if isinstance(value, (list, set, tuple)) else str(value).split()
        return all(a in have for a in args)
    if op in _STRING and args:
        return _STRING[op](str(value), args[0])
    if op in _NUMERIC and args:
        have, want = _as_float(value), _as_float(args[0])
        return have is not None and want is not None and _NUMERIC[op](have, want)
    return str(value) == requirement
