"""The fake driver honours the driver contract and its fault injection."""

from __future__ import annotations

import pytest

from novalite.config import FakeDriverOptions
from novalite.drivers.base import DriverError, FlavorSpec, ImageSpec, InstanceSpec
from novalite.drivers.fake import FakeDriver
from novalite.states import PowerState


def spec(uuid: str = "u1") -> InstanceSpec:
    return InstanceSpec(uuid=uuid, name="vm", flavor=FlavorSpec(name="f", vcpus=2, memory_mb=1024, root_gb=5),
                        image=ImageSpec(id="img"))


async def test_lifecycle_and_usage():
    driver = FakeDriver("h1", FakeDriverOptions(vcpus=8, memory_mb=4096, disk_gb=50))
    await driver.spawn(spec())
    resources = await driver.get_host_resources()
    assert (resources.vcpus_used, resources.memory_mb_used, resources.local_gb_used) == (2, 1024, 5)
    await driver.power_off(spec())
    assert await driver.list_power_states() == {"u1": PowerState.SHUTDOWN}
    await driver.power_on(spec())
    await driver.pause(spec())
    assert await driver.get_power_state(spec()) == PowerState.PAUSED
    await driver.destroy(spec())
    await driver.destroy(spec())  # idempotent
    assert await driver.list_power_states() == {}


async def test_fault_injection_by_host():
    driver = FakeDriver("bad", FakeDriverOptions(fail_spawn_hosts=["bad"]))
    with pytest.raises(DriverError, match="bad"):
        await driver.spawn(spec())
    assert driver.guests == {}
    await FakeDriver("good", FakeDriverOptions(fail_spawn_hosts=["bad"])).spawn(spec())


async def test_adopt_recreates_guests_after_a_restart():
    driver = FakeDriver("h1")
    await driver.adopt(spec("u9"), PowerState.SHUTDOWN)
    assert await driver.list_power_states() == {"u9": PowerState.SHUTDOWN}
