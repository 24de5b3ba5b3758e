"""Typed casts to one compute host over the bus."""

from __future__ import annotations

from typing import Any

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


class ComputeActionsAPI(ComputeAPI):
    """Server actions: casts to the host that runs the instance, and the console call."""

    async def cast_action(self, ctx: RequestContext, host: str, method: str, instance: InstanceRecord,
                          **args: Any) -> None:
        await self.bus.cast(topic_for(host), method, ctx, instance=instance.model_dump(mode="json"), **args)

    async def get_console_output(self, ctx: RequestContext, host: str, instance: InstanceRecord,
                                 length: int | None) -> str:
        return await self.bus.call(topic_for(host), "get_console_output", ctx,
                                   instance=instance.model_dump(mode="json"), length=length)
