"""The conductor: orchestrates builds and is compute's only way to the cell databases."""

from novalite.services.conductor.manager import ConductorManager

__all__ = ["ConductorManager"]
