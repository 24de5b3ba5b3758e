"""Typed calls to the conductor over the bus (what compute and the API use)."""

from __future__ import annotations

from typing import Any

from novalite.bus.base import Bus
from novalite.context import RequestContext
from novalite.drivers.base import HostResources
from novalite.records import ActionEvent, InstanceRecord

TOPIC = "conductor"


class ConductorAPI:
    def __init__(self, bus: Bus):
        self.bus = bus

    async def build_instances(self, ctx: RequestContext, instance_uuids: list[str]) -> None:
        await self.bus.cast(TOPIC, "build_instances", ctx, instance_uuids=instance_uuids)

    async def register_compute(self, ctx: RequestContext, host: str, resources: HostResources) -> dict[str, Any]:
        return await self.bus.call(TOPIC, "register_compute", ctx, host=host,
                                   resources=resources.model_dump(mode="json"))

    async def heartbeat(self, ctx: RequestContext, host: str, binary: str) -> dict[str, Any]:
        return await self.bus.call(TOPIC, "heartbeat", ctx, host=host, binary=binary)

    async def update_compute_node(self, ctx: RequestContext, host: str, resources: HostResources,
                                  running_vms: int) -> None:
        await self.bus.call(TOPIC, "update_compute_node", ctx, host=host,
                            resources=resources.model_dump(mode="json"), running_vms=running_vms)

    async def instances_on_host(self, ctx: RequestContext, host: str) -> list[InstanceRecord]:
        rows = await self.bus.call(TOPIC, "instances_on_host", ctx, host=host)
        return [InstanceRecord.model_validate(row) for row in rows]

    async def deleted_instances(self, ctx: RequestContext, host: str, uuids: list[str]) -> list[InstanceRecord]:
        rows = await self.bus.call(TOPIC, "deleted_instances", ctx, host=host, uuids=uuids)
        return [InstanceRecord.model_validate(row) for row in rows]

    async def instance_update(self, ctx: RequestContext, uuid: str, values: dict[str, Any],
                              expected_task_state: list[str | None] | None = None,
                              event: ActionEvent | None = None) -> InstanceRecord:
        """Change the instance (only if its task is still expected) and record `event` with it."""
        row = await self.bus.call(TOPIC, "instance_update", ctx, uuid=uuid, values=values,
                                  expected_task_state=expected_task_state,
                                  event=event.model_dump() if event else None)
        return InstanceRecord.model_validate(row)

    async def event_start(self, ctx: RequestContext, uuid: str, event: str, host: str) -> None:
        await self.bus.call(TOPIC, "action_event_start", ctx, uuid=uuid, event=event, host=host)

    async def event_finish(self, ctx: RequestContext, uuid: str, event: str, result: str,
                           details: str | None = None, traceback: str | None = None) -> None:
        await self.bus.call(TOPIC, "action_event_finish", ctx, uuid=uuid, event=event, result=result,
                            details=details, traceback=traceback)

    async def set_error(self, ctx: RequestContext, uuid: str, message: str, details: str | None,
                        host: str | None, interrupted: bool = False) -> None:
        await self.bus.call(TOPIC, "instance_set_error", ctx, uuid=uuid, message=message,
                            details=details, host=host, interrupted=interrupted)

    async def add_fault(self, ctx: RequestContext, uuid: str, message: str, details: str | None,
                        host: str | None) -> None:
        await self.bus.call(TOPIC, "instance_add_fault", ctx, uuid=uuid, message=message, details=details,
                            host=host)

    async def migration_update(self, ctx: RequestContext, instance_uuid: str, migration_uuid: str,
                               values: dict[str, Any]) -> None:
        await self.bus.call(TOPIC, "migration_update", ctx, instance_uuid=instance_uuid,
                            migration_uuid=migration_uuid, values=values)

    async def migrate_server(self, ctx: RequestContext, instance_uuid: str, migration_uuid: str,
                             target_host: str | None) -> None:
        await self.bus.cast(TOPIC, "migrate_server", ctx, instance_uuid=instance_uuid,
                            migration_uuid=migration_uuid, target_host=target_host)

    async def instance_destroy(self, ctx: RequestContext, uuid: str) -> None:
        await self.bus.call(TOPIC, "instance_destroy", ctx, uuid=uuid)
