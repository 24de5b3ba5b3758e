"""What compute asks of its conductor: records, heartbeats and instance state, in the cell DB."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from novalite.cells import CellRegistry
from novalite.context import RequestContext
from novalite.db.cell_models import ComputeNode, Instance, Service
from novalite.db.types import utcnow
from novalite.drivers.base import HostResources
from novalite.objects import actions, instances
from novalite.observability.metrics import observe_build
from novalite.records import ActionEvent
from novalite.services.api.service_status import compute_service
from novalite.services.conductor.instance_cells import InstanceCells
from novalite.states import VmState

if TYPE_CHECKING:
    from novalite.runtime import Runtime

_DATETIME_FIELDS = {"launched_at", "terminated_at"}


def _decode_values(values: dict[str, Any]) -> dict[str, Any]:
    """Bus payloads are JSON: turn ISO timestamps back into datetimes, `metadata` into its column."""
    decoded = {}
    for key, value in values.items():
        if key in _DATETIME_FIELDS and isinstance(value, str):
            value = dt.datetime.fromisoformat(value).replace(tzinfo=None)
        decoded["metadata_" if key == "metadata" else key] = value
    return decoded


async def _record_event(session: Any, ctx: RequestContext, uuid: str, event: ActionEvent,
                        host: str | None) -> None:
    if event.phase == "start":
        await actions.event_start(session, ctx, uuid, event.name, host)
    else:
        await actions.event_finish(session, ctx, uuid, event.name, event.result or "Success",
                                   event.details, event.traceback, finish_action=True)


class ComputeCalls:
    runtime: "Runtime"
    instance_cells: InstanceCells
    cell_uuid: str | None

    @property
    def _cells(self) -> CellRegistry:
        return self.runtime.require_cells()

    async def register_compute(self, ctx: RequestContext, host: str, resources: dict[str, Any]) -> dict[str, Any]:
        """Record the service and its compute node, and map the host to a cell at once."""
        res = HostResources.model_validate(resources)
        cells = self._cells
        cell_uuid = await cells.map_host(host, self.cell_uuid or cells.cells_with_hosts()[0].uuid)
        async with cells.session(cell_uuid) as session, session.begin():
            service = await compute_service(session, host)
            if service is None:
                service = Service(uuid=str(uuidlib.uuid4()), host=host, binary="nova-compute",
                                  topic="compute")
                session.add(service)
                await session.flush()
            service.last_seen_up = service.updated_at = utcnow()
            node = await session.scalar(
                select(ComputeNode).where(ComputeNode.host == host, ComputeNode.deleted == 0,
                                          ComputeNode.hypervisor_hostname == res.hypervisor_hostname)
            )
            if node is None:
                node = ComputeNode(uuid=str(uuidlib.uuid4()), host=host, service_id=service.id,
                                   hypervisor_hostname=res.hypervisor_hostname,
                                   hypervisor_type=res.hypervisor_type,
                                   hypervisor_version=res.hypervisor_version,
                                   vcpus=res.vcpus, memory_mb=res.memory_mb, local_gb=res.local_gb)
                session.add(node)
            self._apply_resources(node, res)
            await session.flush()
            return {"node_uuid": node.uuid, "service_uuid": service.uuid, "cell_uuid": cell_uuid,
                    "disabled": service.disabled}

    @staticmethod
    def _apply_resources(node: ComputeNode, res: HostResources) -> None:
        node.hypervisor_type, node.hypervisor_version = res.hypervisor_type, res.hypervisor_version
        node.vcpus, node.memory_mb, node.local_gb = res.vcpus, res.memory_mb, res.local_gb
        node.vcpus_used, node.memory_mb_used = res.vcpus_used, res.memory_mb_used
        node.local_gb_used, node.cpu_info, node.host_ip = res.local_gb_used, res.cpu_info, res.host_ip
        node.updated_at = utcnow()

    async def heartbeat(self, ctx: RequestContext, host: str, binary: str) -> dict[str, Any]:
        cell_uuid = await self._cells.cell_for_host(host)
        async with self._cells.session(cell_uuid) as session, session.begin():
            service = await session.scalar(
                select(Service).where(Service.host == host, Service.binary == binary, Service.deleted == 0)
            )
            if service is None:
                return {"known": False}
            service.last_seen_up = service.updated_at = utcnow()
            service.report_count += 1
            return {"known": True, "disabled": service.disabled}

    async def update_compute_node(self, ctx: RequestContext, host: str, resources: dict[str, Any],
                                  running_vms: int) -> None:
        res = HostResources.model_validate(resources)
        cell_uuid = await self._cells.cell_for_host(host)
        async with self._cells.session(cell_uuid) as session, session.begin():
            node = await session.scalar(
                select(ComputeNode).where(ComputeNode.host == host, ComputeNode.deleted == 0,
                                          ComputeNode.hypervisor_hostname == res.hypervisor_hostname)
            )
            if node is not None:
                self._apply_resources(node, res)
                node.running_vms = running_vms

    async def instances_on_host(self, ctx: RequestContext, host: str) -> list[dict[str, Any]]:
        cell_uuid = await self._cells.cell_for_host(host)
        async with self._cells.session(cell_uuid) as session:
            rows = await instances.on_host(session, host)
            return [instances.to_record(row).model_dump(mode="json") for row in rows]

    async def deleted_instances(self, ctx: RequestContext, host: str, uuids: list[str]) -> list[dict[str, Any]]:
        """Those of `uuids` (guests a hypervisor still runs) whose servers the cell has deleted."""
        cell_uuid = await self._cells.cell_for_host(host)
        async with self._cells.session(cell_uuid) as session:
            rows = (await session.scalars(select(Instance).where(Instance.uuid.in_(uuids),
                                                                 Instance.deleted != 0))).all()
            return [instances.to_record(row).model_dump(mode="json") for row in rows]

    async def instance_update(self, ctx: RequestContext, uuid: str, values: dict[str, Any],
                              expected_task_state: list[str | None] | None = None,
                              event: dict[str, Any] | None = None) -> dict[str, Any]:
        cell_uuid = await self.instance_cells.lookup(uuid)
        async with self._cells.session(cell_uuid) as session, session.begin():
            row = await instances.update(session, uuid, _decode_values(values), expected_task_state)
            if event is not None:
                await _record_event(session, ctx, uuid, ActionEvent.model_validate(event), row.host)
            return instances.to_record(row).model_dump(mode="json")

    async def action_event_start(self, ctx: RequestContext, uuid: str, event: str, host: str) -> None:
        cell_uuid = await self.instance_cells.lookup(uuid)
        async with self._cells.session(cell_uuid) as session, session.begin():
            await actions.event_start(session, ctx, uuid, event, host)

    async def action_event_finish(self, ctx: RequestContext, uuid: str, event: str, result: str,
                                  details: str | None = None, traceback: str | None = None) -> None:
        cell_uuid = await self.instance_cells.lookup(uuid)
        async with self._cells.session(cell_uuid) as session, session.begin():
            await actions.event_finish(session, ctx, uuid, event, result, details, traceback,
                                       finish_action=True)

    async def instance_set_error(self, ctx: RequestContext, uuid: str, message: str,
                                 details: str | None, host: str | None, interrupted: bool = False) -> None:
        """`interrupted`: the build's own request is gone (a restart), so its open events end here."""
        cell_uuid = await self.instance_cells.lookup(uuid)
        async with self._cells.session(cell_uuid) as session, session.begin():
            row = await instances.update(session, uuid, {"vm_state": VmState.ERROR, "task_state": None})
            await actions.add_fault(session, uuid, 500, message, details, host)
            if interrupted:
                await actions.fail_open_events(session, uuid, message)
        if interrupted:
            observe_build("ERROR", row.created_at)

    async def instance_add_fault(self, ctx: RequestContext, uuid: str, message: str, details: str | None,
                                 host: str | None) -> None:
        cell_uuid = await self.instance_cells.lookup(uuid)
        async with self._cells.session(cell_uuid) as session, session.begin():
            await actions.add_fault(session, uuid, 500, message, details, host)

    async def instance_destroy(self, ctx: RequestContext, uuid: str) -> None:
        cell_uuid = await self.instance_cells.lookup(uuid)
        async with self._cells.session(cell_uuid) as session, session.begin():
            row = await instances.get(session, uuid, read_deleted=True)
            if not row.deleted:
                await instances.soft_delete(session, row)
