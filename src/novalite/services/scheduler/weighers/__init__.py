"""Host weighers, with Nova's names, multipliers and min-max normalisation."""

from __future__ import annotations

import importlib

from novalite.services.scheduler.weighers.affinity import (
    ImagePropertiesWeigher,
    ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher,
)
from novalite.services.scheduler.weighers.base import BaseWeigher, WeighedHost, weigh_hosts
from novalite.services.scheduler.weighers.load import BuildFailureWeigher, IoOpsWeigher, NumInstancesWeigher
from novalite.services.scheduler.weighers.resources import CPUWeigher, DiskWeigher, RAMWeigher

_REGISTRY: dict[str, type[BaseWeigher]] = {cls.name: cls for cls in (
    RAMWeigher, CPUWeigher, DiskWeigher, IoOpsWeigher, NumInstancesWeigher, BuildFailureWeigher,
    ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher, ImagePropertiesWeigher,
)}


def load_weighers(names: list[str]) -> list[BaseWeigher]:
    """Weighers by Nova name or `module.path:ClassName`; unknown names fail with the name."""
    weighers = []
    for name in names:
        cls = _REGISTRY.get(name)
        if cls is None and ":" in name:
            module, _, attr = name.partition(":")
            try:
                cls = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise ValueError(f"scheduler weigher '{name}' cannot be imported: {exc}") from None
            if not (isinstance(cls, type) and issubclass(cls, BaseWeigher)):
                raise ValueError(f"scheduler weigher '{name}' is not a BaseWeigher subclass")
        if cls is None:
            raise ValueError(f"unknown scheduler weigher '{name}'; known: {', '.join(sorted(_REGISTRY))}")
        if cls.weight is BaseWeigher.weight and cls.weights is BaseWeigher.weights:  # each calls the other
            raise ValueError(f"scheduler weigher '{name}' implements neither weight nor weights")
        weighers.append(cls())
    return weighers


__all__ = ["BaseWeigher", "WeighedHost", "load_weighers", "weigh_hosts"]
