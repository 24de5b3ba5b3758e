"""Servers as the Compute API shows them, version by version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from novalite.context import RequestContext
from novalite.db.cell_models import Instance, InstanceFault
from novalite.services.api.microversion import APIVersion
from novalite.services.api.views.common import host_id, isotime, links, usec_time
from novalite.states import PowerState, TaskState, VmState, status_from_state


def _flavor_view(flavor: dict[str, Any], base: str, version: APIVersion) -> dict[str, Any]:
    if not version.at_least("2.47"):
        return {"id": flavor["flavorid"], "links": [links(base, "flavors", flavor["flavorid"])[1]]}
    view = {
        "vcpus": flavor["vcpus"], "ram": flavor["memory_mb"], "disk": flavor["root_gb"],
        "ephemeral": flavor["ephemeral_gb"], "swap": flavor["swap"], "original_name": flavor["name"],
    }
    view["extra_specs"] = dict(flavor.get("extra_specs", {}))
    return view


def _image_view(image_ref: str | None, properties: dict[str, Any], base: str,
                version: APIVersion) -> dict[str, Any] | str:
    if not image_ref:
        return ""
    view: dict[str, Any] = {"id": image_ref, "links": [links(base, "images", image_ref)[1]]}
    if version.at_least("2.98"):
        view["properties"] = properties
    return view


def _fault_view(fault: InstanceFault | None, ctx: RequestContext) -> dict[str, Any] | None:
    if fault is None:
        return None
    view: dict[str, Any] = {"code": fault.code, "created": isotime(fault.created_at), "message": fault.message}
    if fault.details and (ctx.is_admin or fault.code != 500):
        view["details"] = fault.details
    return view


def server_view(
    *, uuid: str, name: str, project_id: str, user_id: str, vm_state: str, task_state: str | None,
    power_state: int, host: str | None, node: str | None, flavor: dict[str, Any], image_ref: str | None,
    created_at: dt.datetime | None, updated_at: dt.datetime | None, launched_at: dt.datetime | None,
    terminated_at: dt.datetime | None, availability_zone: str | None, metadata: dict[str, Any],
    system_metadata: dict[str, Any], tags: list[str], locked: bool, description: str | None,
    hostname: str | None, key_name: str | None, user_data: str | None, reservation_id: str | None,
    launch_index: int, config_drive: str | None, access_ipv4: str | None, access_ipv6: str | None,
    fault: InstanceFault | None, locked_reason: str | None,
    base: str, version: APIVersion, ctx: RequestContext, host_status: str | None = None,
) -> dict[str, Any]:
    status = status_from_state(vm_state, task_state)
    view: dict[str, Any] = {
        "id": uuid, "name": name, "status": status, "tenant_id": project_id, "user_id": user_id,
        "metadata": metadata, "hostId": host_id(project_id, host),
        "image": _image_view(image_ref, system_metadata.get("image", {}), base, version),
        "flavor": _flavor_view(flavor, base, version),
        "created": isotime(created_at), "updated": isotime(updated_at or created_at),
        "addresses": {}, "accessIPv4": access_ipv4 or "", "accessIPv6": access_ipv6 or "",
        "links": links(base, "servers", uuid), "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": availability_zone or ("" if not host else "nova"),
        "config_drive": config_drive or "", "key_name": key_name,
        "OS-SRV-USG:launched_at": usec_time(launched_at),
        "OS-SRV-USG:terminated_at": usec_time(terminated_at),
        "OS-EXT-STS:task_state": task_state, "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:power_state": int(power_state),
        "os-extended-volumes:volumes_attached": [],
    }
    if status in ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"):
        view["progress"] = 100 if status == "ACTIVE" else 0
    if ctx.is_admin:
        view["OS-EXT-SRV-ATTR:host"] = host
        view["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{uuid[:8]}"
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = node
        if version.at_least("2.3"):
            view.update({
                "OS-EXT-SRV-ATTR:reservation_id": reservation_id,
                "OS-EXT-SRV-ATTR:launch_index": launch_index,
                "OS-EXT-SRV-ATTR:hostname": hostname,
                "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                "OS-EXT-SRV-ATTR:root_device_name": None, "OS-EXT-SRV-ATTR:user_data": user_data,
            })
    elif version.at_least("2.90"):
        view["OS-EXT-SRV-ATTR:hostname"] = hostname
    if version.at_least("2.9"):
        view["locked"] = locked
    if version.at_least("2.16") and ctx.is_admin:
        view["host_status"] = host_status if host else ""
    if version.at_least("2.19"):
        view["description"] = description
    if version.at_least("2.26"):
        view["tags"] = tags
    if version.at_least("2.63"):
        view["trusted_image_certificates"] = None
    if version.at_least("2.73"):
        view["locked_reason"] = locked_reason
    if version.at_least("2.96"):
        view["pinned_availability_zone"] = system_metadata.get("pinned_az")
    if version.at_least("2.100"):
        view["scheduler_hints"] = system_metadata.get("scheduler_hints", {})
    fault_view = _fault_view(fault, ctx)
    if fault_view and vm_state in (VmState.ERROR, VmState.DELETED):
        view["fault"] = fault_view
    return view


def instance_view(instance: Instance, fault: InstanceFault | None, base: str, version: APIVersion,
                  ctx: RequestContext, host_status: str | None = None) -> dict[str, Any]:
    return server_view(
        uuid=instance.uuid, name=instance.display_name, project_id=instance.project_id,
        user_id=instance.user_id, vm_state=instance.vm_state, task_state=instance.task_state,
        power_state=instance.power_state, host=instance.host, node=instance.node, flavor=instance.flavor,
        image_ref=instance.image_ref, created_at=instance.created_at, updated_at=instance.updated_at,
        launched_at=instance.launched_at, terminated_at=instance.terminated_at,
        availability_zone=instance.availability_zone, metadata=instance.metadata_ or {},
        system_metadata=instance.system_metadata or {}, tags=(instance.tags or {}).get("tags", []),
        locked=instance.locked, description=instance.display_description, hostname=instance.hostname,
        key_name=instance.key_name, user_data=instance.user_data, reservation_id=instance.reservation_id,
        launch_index=instance.launch_index, config_drive=instance.config_drive,
        access_ipv4=instance.access_ip_v4, access_ipv6=instance.access_ip_v6, fault=fault,
        locked_reason=(instance.system_metadata or {}).get("locked_reason"),
        base=base, version=version, ctx=ctx, host_status=host_status,
    )


def build_request_view(data: dict[str, Any], base: str, version: APIVersion,
                       ctx: RequestContext) -> dict[str, Any]:
    created = dt.datetime.fromisoformat(data["created_at"])
    return server_view(
        uuid=data["uuid"], name=data["display_name"], project_id=data["project_id"],
        user_id=data["user_id"], vm_state=VmState.BUILDING, task_state=TaskState.SCHEDULING,
        power_state=PowerState.NOSTATE, host=None, node=None, flavor=data["flavor"],
        image_ref=data.get("image_ref"), created_at=created, updated_at=created, launched_at=None,
        terminated_at=None, availability_zone=data.get("availability_zone"),
        metadata=data.get("metadata", {}), system_metadata=data.get("system_metadata", {}),
        tags=data.get("tags", {}).get("tags", []), locked=False,
        description=data.get("display_description"), hostname=data.get("hostname"),
        key_name=data.get("key_name"), user_data=data.get("user_data"),
        reservation_id=data.get("reservation_id"), launch_index=data.get("launch_index", 0),
        config_drive=data.get("config_drive"), access_ipv4=data.get("access_ip_v4"),
        access_ipv6=data.get("access_ip_v6"), fault=None, locked_reason=None,
        base=base, version=version, ctx=ctx,
    )


def summary_view(uuid: str, name: str, base: str) -> dict[str, Any]:
    return {"id": uuid, "name": name, "links": links(base, "servers", uuid)}
