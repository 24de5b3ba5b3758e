"""The filter contract and loading filters by Nova's names or an import path."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from novalite.records import RequestSpecRecord
from novalite.services.scheduler.host_state import HostState


@dataclass
class FilterContext:
    spec: RequestSpecRecord
    service_down_time: float


class BaseHostFilter:
    """Keeps the hosts that pass. `reason` says why a host did not, for the fault and dry run."""

    name: str = "BaseHostFilter"

    def host_passes(self, host: HostState, ctx: FilterContext) -> bool:
        raise NotImplementedError

    def reason(self, host: HostState, ctx: FilterContext) -> str:
        return f"{self.name} rejected it"


_REGISTRY: dict[str, type[BaseHostFilter]] = {}


def register(cls: type[BaseHostFilter]) -> type[BaseHostFilter]:
    _REGISTRY[cls.name] = cls
    return cls


def load_filters(names: list[str]) -> list[BaseHostFilter]:
    """Instantiate filters by Nova name or `module.path:ClassName`; unknown names fail with the name."""
    from novalite.services.scheduler.filters import compute  # noqa: F401  (registers built-ins)

    loaded = []
    for name in names:
        cls = _REGISTRY.get(name)
        if cls is None and ":" in name:
            module, _, attr = name.partition(":")
            try:
                cls = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise ValueError(f"scheduler filter '{name}' cannot be imported: {exc}") from None
        if cls is None:
            raise ValueError(f"unknown scheduler filter '{name}'; known: {', '.join(sorted(_REGISTRY))}")
        loaded.append(cls())
    return loaded
