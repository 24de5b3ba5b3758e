"""Compute: one per host; owns a hypervisor driver and never opens a database."""

from novalite.services.compute.manager import ComputeManager

__all__ = ["ComputeManager"]
