"""Reschedule a build whose spawn failed: move its claim to the next alternate host.

Compute casts `reschedule_build` after cleaning up a failed spawn. The conductor records
the failure in the request spec's retry info, moves the instance's placement allocation
to the next alternate the scheduler returned (one PUT replaces the failed host's
allocation, so nothing is left behind on it), re-checks the server group's hard policy
(another build may have landed there meanwhile), and casts the build to that host.
After `scheduler.max_attempts` hosts, the instance goes to ERROR with a fault listing
every host tried and why it failed, and its allocation is released.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from novalite.bus.base import Bus
from novalite.context import RequestContext
from novalite.exceptions import InstanceNotFound, MessageDeliveryFailure
from novalite.objects import actions, instances
from novalite.objects.instances import UnexpectedTaskState
from novalite.observability.metrics import observe_build
from novalite.records import RequestSpecRecord, Selection
from novalite.services.conductor import build_requests
from novalite.services.placement.client import PlacementError
from novalite.services.scheduler import groups
from novalite.states import TaskState, VmState

if TYPE_CHECKING:
    from novalite.runtime import Runtime
    from novalite.services.compute.rpcapi import ComputeAPI
    from novalite.services.conductor.instance_cells import InstanceCells
    from novalite.services.scheduler.rpcapi import SchedulerAPI

LOG = logging.getLogger(__name__)

RESCHEDULE_EVENT = "conductor_reschedule_build"
TOPIC = "conductor"


async def cast_reschedule(bus: Bus, ctx: RequestContext, uuid: str, host: str, reason: str,
                          alternates: list[dict[str, Any]]) -> None:
    """What compute calls after a failed spawn."""
    await bus.cast(TOPIC, "reschedule_build", ctx, uuid=uuid, host=host, reason=reason, alternates=alternates)


def exhausted_message(failures: list[str]) -> tuple[str, str]:
    """The fault: a message naming the hosts and the last error, details with every host's reason."""
    hosts = ", ".join(f.split(":", 1)[0] for f in failures)
    message = f"Exceeded maximum number of retries: the build failed on {hosts}. Last error on {failures[-1]}"
    return message, "\n".join(["Exhausted all hosts available for retrying build failures:", *failures])


class RescheduleTasks:
    runtime: "Runtime"
    instance_cells: "InstanceCells"
    compute: "ComputeAPI"
    scheduler: "SchedulerAPI"

    async def reschedule_build(self, ctx: RequestContext, uuid: str, host: str, reason: str,
                               alternates: list[dict[str, Any]]) -> None:
        api = self.runtime.require_api_db()
        spec = await build_requests.load_spec(api, uuid)
        if spec is None:
            LOG.info("no request spec for %s: the server was deleted; not rescheduling", uuid)
            await self.runtime.require_placement().delete_allocations(ctx, uuid)
            return
        spec.retry.num_attempts += 1
        spec.retry.hosts.append(host)
        spec.retry.failures.append(f"{host}: {reason}")
        try:
            await self.scheduler.record_build_failure(ctx, host)
        except MessageDeliveryFailure as exc:  # a weighing hint must never stop the reschedule
            LOG.warning("could not tell the schedulers about the failed build on %s: %s", host, exc)
        remaining = [Selection.model_validate(a) for a in alternates]
        max_attempts = self.runtime.settings.scheduler.max_attempts
        while remaining and len(spec.retry.hosts) < max_attempts:
            target = remaining.pop(0)
            failure = await self._move_claim(ctx, uuid, spec, target)
            if failure:
                spec.retry.hosts.append(target.service_host)
                spec.retry.failures.append(f"{target.service_host}: {failure}")
                continue
            await build_requests.save_retry(api, spec)
            await self._cast_to(ctx, uuid, spec, target, remaining)
            return
        await build_requests.save_retry(api, spec)
        await self._give_up(ctx, uuid, spec)

    async def _move_claim(self, ctx: RequestContext, uuid: str, spec: RequestSpecRecord,
                          target: Selection) -> str | None:
        placement = self.runtime.require_placement()
        group_uuid = groups.group_uuid_of(spec)
        if group_uuid:
            loaded = await groups.load_group(ctx, self.runtime.require_api_db(), placement, group_uuid,
                                             {uuid}, None)
            if loaded:
                conflict = groups.group_conflict(loaded[0], target.compute_node_uuid, loaded[0].members_on)
                if conflict:
                    return conflict
        if target.allocation_request is None:
            return "the scheduler gave no allocation request for it"
        current = await placement.get_allocations(ctx, uuid)
        try:
            await placement.claim_resources(ctx, uuid, target.allocation_request, spec.project_id, spec.user_id,
                                            consumer_generation=current.get("consumer_generation"))
        except PlacementError as exc:
            return f"claim failed: {exc.detail}"
        return None

    async def _cast_to(self, ctx: RequestContext, uuid: str, spec: RequestSpecRecord, target: Selection,
                       remaining: list[Selection]) -> None:
        cells = self.runtime.require_cells()
        cell_uuid = await self.instance_cells.lookup(uuid)
        try:
            async with cells.session(cell_uuid) as session, session.begin():
                row = await instances.update(
                    session, uuid,
                    {"host": target.service_host, "node": target.nodename, "task_state": TaskState.SCHEDULING},
                    expected_task_state=[TaskState.SPAWNING, TaskState.SCHEDULING])
                await actions.event_finish(session, ctx, uuid, RESCHEDULE_EVENT, "Success",
                                           details=f"rescheduled to {target.service_host}")
                record = instances.to_record(row)
        except (InstanceNotFound, UnexpectedTaskState):
            LOG.info("server %s was deleted during its reschedule; releasing its claim", uuid)
            await self.runtime.require_placement().delete_allocations(ctx, uuid)
            return
        LOG.info("rescheduling %s to %s after failures on %s [%s]", uuid, target.service_host,
                 ", ".join(spec.retry.hosts), ctx.request_id)
        observe_build("rescheduled", record.created_at)
        await self.compute.build_and_run_instance(ctx, target.service_host, record, spec, target, remaining)

    async def _give_up(self, ctx: RequestContext, uuid: str, spec: RequestSpecRecord) -> None:
        await self.runtime.require_placement().delete_allocations(ctx, uuid)
        message, details = exhausted_message(spec.retry.failures)
        cells = self.runtime.require_cells()
        try:
            cell_uuid = await self.instance_cells.lookup(uuid)
            async with cells.session(cell_uuid) as session, session.begin():
                row = await instances.update(session, uuid, {"vm_state": VmState.ERROR, "task_state": None},
                                             expected_task_state=[TaskState.SPAWNING, TaskState.SCHEDULING])
                await actions.event_finish(session, ctx, uuid, RESCHEDULE_EVENT, "Error", details=details,
                                           finish_action=True)
                await actions.add_fault(session, uuid, 500, message, details)
            observe_build("ERROR", row.created_at)
        except (InstanceNotFound, UnexpectedTaskState):
            LOG.info("server %s was deleted before its build gave up", uuid)
