"""The compute service of one host: its bus endpoint and its periodic tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Awaitable, Callable

from novalite.bus.base import Consumer
from novalite.context import RequestContext
from novalite.drivers.base import ComputeDriver
from novalite.records import InstanceRecord
from novalite.runtime import Runtime
from novalite.services.compute import actions, build, deleted_guests, power_sync, resize, startup
from novalite.services.compute.instance_locks import InstanceLocks
from novalite.services.compute.resource_tracker import ResourceTracker
from novalite.services.compute.rpcapi import topic_for
from novalite.services.conductor.rpcapi import ConductorAPI

LOG = logging.getLogger(__name__)


class ComputeManager:
    """Served on topic `compute.<host>`."""

    def __init__(self, runtime: Runtime, host: str, driver: ComputeDriver):
        self.runtime, self.host, self.driver = runtime, host, driver
        self.conductor = ConductorAPI(runtime.bus)
        self.locks = InstanceLocks()
        self.tracker = ResourceTracker(runtime.require_placement(), driver, runtime.settings.compute)
        self.node_uuid: str | None = None
        self._consumer: Consumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._resources_dirty = asyncio.Event()

    # lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        ctx = RequestContext.admin()
        await self.driver.init_host()
        # Serve first: once placement knows this host, the scheduler may pick it at once.
        self._consumer = await self.runtime.bus.serve(topic_for(self.host), self)
        await self.register(ctx)
        await startup.init_instances(self, ctx)
        await self._guarded(lambda c: deleted_guests.reap_deleted_guests(self, c))
        options = self.runtime.settings.compute
        self._tasks = [
            asyncio.create_task(self._every(options.heartbeat_interval, self._heartbeat)),
            asyncio.create_task(self._every(options.resource_report_interval, self.update_resources)),
            asyncio.create_task(self._every(options.sync_power_state_interval, self._sync_power)),
            asyncio.create_task(self._report_when_dirty()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._consumer is not None:
            await self._consumer.stop()
        await self.driver.cleanup_host()

    async def register(self, ctx: RequestContext) -> None:
        resources = await self.driver.get_host_resources()
        reply = await self.conductor.register_compute(ctx, self.host, resources)
        self.node_uuid = reply["node_uuid"]
        self.tracker.disabled = reply["disabled"]
        await self.tracker.report(ctx, self.node_uuid, resources)

    async def update_resources(self, ctx: RequestContext) -> None:
        assert self.node_uuid is not None
        resources = await self.driver.get_host_resources()
        await self.tracker.report(ctx, self.node_uuid, resources)
        running = len(await self.driver.list_power_states())
        await self.conductor.update_compute_node(ctx, self.host, resources, running)

    def resources_changed(self) -> None:
        self._resources_dirty.set()

    async def _report_when_dirty(self) -> None:
        # Coalesces the usage updates of a burst of builds into about one per second.
        while True:
            await self._resources_dirty.wait()
            await asyncio.sleep(1.0)
            self._resources_dirty.clear()
            await self._guarded(self.update_resources)

    async def _heartbeat(self, ctx: RequestContext) -> None:
        reply = await self.conductor.heartbeat(ctx, self.host, "nova-compute")
        if reply.get("known") and reply.get("disabled") != self.tracker.disabled:
            self.tracker.disabled = bool(reply["disabled"])
            self.resources_changed()

    async def _sync_power(self, ctx: RequestContext) -> None:
        await deleted_guests.reap_deleted_guests(self, ctx)
        await power_sync.sync_power_states(self, ctx)

    async def _every(self, interval: float, job: Callable[[RequestContext], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._guarded(job)

    async def _guarded(self, job: Callable[[RequestContext], Awaitable[Any]]) -> None:
        try:
            await job(RequestContext.admin())
        except Exception:  # a periodic task must outlive one bad run
            LOG.exception("periodic task %s failed on %s", getattr(job, "__name__", job), self.host)

    # bus endpoint ----------------------------------------------------------
    async def build_and_run_instance(self, ctx: RequestContext, instance: dict[str, Any], spec: dict[str, Any],
                                     selection: dict[str, Any], alternates: list[dict[str, Any]]) -> None:
        record = InstanceRecord.model_validate(instance)
        async with self.locks.hold(record.uuid):
            await build.build_and_run(self, ctx, record, alternates)

    async def terminate_instance(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        record = InstanceRecord.model_validate(instance)
        async with self.locks.hold(record.uuid):
            await build.terminate(self, ctx, record)

    async def _locked(self, instance: dict[str, Any], work: Callable[[InstanceRecord], Awaitable[Any]]) -> Any:
        record = InstanceRecord.model_validate(instance)
        async with self.locks.hold(record.uuid):
            return await work(record)

    async def reboot_instance(self, ctx: RequestContext, instance: dict[str, Any], reboot_type: str) -> None:
        await self._locked(instance, lambda r: actions.reboot(self, ctx, r, hard=reboot_type == "HARD"))

    async def stop_instance(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: actions.power_action(self, ctx, r, "stop_instance"))

    async def start_instance(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: actions.power_action(self, ctx, r, "start_instance"))

    async def pause_instance(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: actions.power_action(self, ctx, r, "pause_instance"))

    async def unpause_instance(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: actions.power_action(self, ctx, r, "unpause_instance"))

    async def suspend_instance(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: actions.power_action(self, ctx, r, "suspend_instance"))

    async def resume_instance(self, ctx: RequestContext, instance: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: actions.power_action(self, ctx, r, "resume_instance"))

    async def rebuild_instance(self, ctx: RequestContext, instance: dict[str, Any], image: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: actions.rebuild(self, ctx, r, image))

    async def get_console_output(self, ctx: RequestContext, instance: dict[str, Any], length: int | None) -> str:
        return await actions.console_output(self, InstanceRecord.model_validate(instance), length)

    async def resize_instance(self, ctx: RequestContext, instance: dict[str, Any], migration: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: resize.resize_instance(self, ctx, r, migration))

    async def finish_resize(self, ctx: RequestContext, instance: dict[str, Any], migration: dict[str, Any],
                            disk_info: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: resize.finish_resize(self, ctx, r, migration, disk_info))

    async def confirm_resize(self, ctx: RequestContext, instance: dict[str, Any], migration: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: resize.confirm_resize(self, ctx, r, migration))

    async def drop_resize_source(self, ctx: RequestContext, instance: dict[str, Any],
                                 migration: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: resize.drop_resize_source(self, ctx, r, migration))

    async def revert_resize(self, ctx: RequestContext, instance: dict[str, Any], migration: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: resize.revert_resize(self, ctx, r, migration))

    async def finish_revert_resize(self, ctx: RequestContext, instance: dict[str, Any],
                                   migration: dict[str, Any]) -> None:
        await self._locked(instance, lambda r: resize.finish_revert_resize(self, ctx, r, migration))

    async def sync_power_states(self, ctx: RequestContext) -> int:
        """Run the power-state sync now (tests and operators)."""
        return await power_sync.sync_power_states(self, ctx)
