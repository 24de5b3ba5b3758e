"""Typed calls to the scheduler over the bus."""

from __future__ import annotations

from typing import Any

from novalite.bus.base import Bus
from novalite.context import RequestContext
from novalite.records import RequestSpecRecord, Selection

TOPIC = "scheduler"


class SchedulerAPI:
    def __init__(self, bus: Bus):
        self.bus = bus

    async def select_destinations(
        self, ctx: RequestContext, spec: RequestSpecRecord, instance_uuids: list[str],
    ) -> list[list[Selection]]:
        rows = await self.bus.call(TOPIC, "select_destinations", ctx,
                                   spec=spec.model_dump(mode="json"), instance_uuids=instance_uuids)
        return [[Selection.model_validate(s) for s in alts] for alts in rows]

    async def dry_run(self, ctx: RequestContext, spec: RequestSpecRecord) -> dict[str, Any]:
        return await self.bus.call(TOPIC, "dry_run", ctx, spec=spec.model_dump(mode="json"))

    async def record_build_failure(self, ctx: RequestContext, host: str) -> None:
        """Every scheduler worker keeps its own count, so tell them all."""
        await self.bus.fanout(TOPIC, "record_build_failure", ctx, host=host)
