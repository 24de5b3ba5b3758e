"""Build the configured driver for one compute host."""

from __future__ import annotations

from novalite.config import Settings
from novalite.drivers.base import ComputeDriver


def load_driver(settings: Settings, host: str) -> ComputeDriver:
    if settings.compute.driver == "fake":
        from novalite.drivers.fake import FakeDriver

        return FakeDriver(host, settings.fake_driver)
    if settings.compute.driver == "libvirt":
        from novalite.drivers.libvirt import LibvirtDriver

        return LibvirtDriver(host, settings)
    raise ValueError(f"unknown compute driver '{settings.compute.driver}'")
