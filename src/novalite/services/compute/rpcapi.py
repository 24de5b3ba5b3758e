"""Typed casts to one compute host over the bus."""

from __future__ import annotations

from novalite.bus.base import Bus
from novalite.context import RequestContext
from novalite.records import InstanceRecord, RequestSpecRecord, Selection


def topic_for(host: str) -> str:
    return f"compute.{host}"


class ComputeAPI:
    def __init__(self, bus: Bus):
        self.bus = bus

    async def build_and_run_instance(self, ctx: RequestContext, host: str, instance: InstanceRecord,
                                     spec: RequestSpecRecord, selection: Selection,
                                     alternates: list[Selection]) -> None:
        await self.bus.cast(
            topic_for(host), "build_and_run_instance", ctx,
            instance=instance.model_dump(mode="json"), spec=spec.model_dump(mode="json"),
            selection=selection.model_dump(mode="json"),
            alternates=[a.model_dump(mode="json") for a in alternates],
        )

    async def terminate_instance(self, ctx: RequestContext, host: str, instance: InstanceRecord) -> None:
        await self.bus.cast(topic_for(host), "terminate_instance", ctx,
                            instance=instance.model_dump(mode="json"))
