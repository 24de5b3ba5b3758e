"""The filter contract and loading filters by Nova's names or an import path."""

from __future__ import annotations

import importlib

from novalite.services.scheduler.context import SchedulingContext
from novalite.services.scheduler.host_state import HostState


class BaseHostFilter:
    """Keeps the hosts that pass.

    Subclasses implement `rejects`, returning why a host cannot take the request (for the
    fault and the dry run) or None. Third-party filters may implement `host_passes` alone.
    `needs` names the per-host statistics the filter reads, so they are loaded only when used.
    `applies` says whether the request gives the filter anything to check: when it does not,
    every host passes without a per-host call (the pipeline still reports the step).
    """

    name: str = "BaseHostFilter"
    needs: frozenset[str] = frozenset()

    def applies(self, ctx: SchedulingContext) -> bool:
        return True

    def rejects(self, host: HostState, ctx: SchedulingContext) -> str | None:
        return None if self.host_passes(host, ctx) else f"{self.name} rejected it"

    def host_passes(self, host: HostState, ctx: SchedulingContext) -> bool:
        return self.rejects(host, ctx) is None


_REGISTRY: dict[str, type[BaseHostFilter]] = {}


def register(cls: type[BaseHostFilter]) -> type[BaseHostFilter]:
    _REGISTRY[cls.name] = cls
    return cls


def _import(name: str, kind: str) -> type:
    module, _, attr = name.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"scheduler {kind} '{name}' cannot be imported: {exc}") from None


def load_filters(names: list[str]) -> list[BaseHostFilter]:
    """Instantiate filters by Nova name or `module.path:ClassName`; unknown names fail with the name."""
    from novalite.services.scheduler.filters import builtin  # noqa: F401  (registers built-ins)

    loaded = []
    for name in names:
        cls = _REGISTRY.get(name)
        if cls is None and ":" in name:
            cls = _import(name, "filter")
            if not (isinstance(cls, type) and issubclass(cls, BaseHostFilter)):
                raise ValueError(f"scheduler filter '{name}' is not a BaseHostFilter subclass")
        if cls is None:
            raise ValueError(f"unknown scheduler filter '{name}'; known: {', '.join(sorted(_REGISTRY))}")
        loaded.append(cls())
    return loaded
