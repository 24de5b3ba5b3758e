"""Hypervisor drivers behind one ComputeDriver contract."""

from novalite.drivers.base import ComputeDriver, DriverError, HostResources, InstanceSpec
from novalite.drivers.factory import load_driver

__all__ = ["ComputeDriver", "DriverError", "HostResources", "InstanceSpec", "load_driver"]
