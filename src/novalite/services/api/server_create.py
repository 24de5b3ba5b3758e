"""POST /servers: validate, record the build in the API database, hand it to the conductor."""

from __future__ import annotations

import re
import secrets
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from novalite.context import RequestContext
from novalite.db.api_models import BuildRequest, Flavor, FlavorExtraSpec, InstanceMapping, RequestSpec
from novalite.db.types import utcnow
from novalite.records import FlavorRecord, ImageRecord, RequestSpecRecord
from novalite.runtime import Runtime
from novalite.services.api import keypair_ops
from novalite.services.api.errors import ComputeFault, bad_request
from novalite.services.api.errors import describe_validation
from novalite.services.api.microversion import APIVersion
from novalite.services.api.scheduling_requests import add_group_members, check_hints, check_zone
from novalite.services.api.schemas.servers import ServerCreateRequest
from novalite.services.conductor.rpcapi import ConductorAPI
from novalite.services.image.lookup import ImageUnusable, image_for_boot
from novalite.states import TaskState, VmState

MAX_INSTANCES_PER_REQUEST = 1000

# Fields of the create body that appeared in later microversions.
_FIELD_MIN_VERSION = {
    "description": "2.19", "tags": "2.52", "trusted_image_certificates": "2.63", "hostname": "2.90",
}


@dataclass
class Created:
    uuids: list[str]
    reservation_id: str
    admin_pass: str
    return_reservation_id: bool


def _check_versioned_fields(server: dict[str, Any], version: APIVersion) -> None:
    for field_name, since in _FIELD_MIN_VERSION.items():
        if field_name in server and not version.at_least(since):
            raise bad_request(
                f"Additional properties are not allowed ('{field_name}' was unexpected); "
                f"it needs microversion {since} or later"
            )


def hostname_from(name: str) -> str:
    """A DNS label from a display name, as Nova sanitizes it."""
    label = re.sub(r"[^a-z0-9\-.]+", "-", name.lower().replace(" ", "-")).replace(".", "-")
    label = label.strip("-")[:63].rstrip("-")
    return label or "server"


# Built once: constructing a statement costs more than running this one on SQLite.
_FLAVOR_BY_ID = select(Flavor.__table__).where(Flavor.flavorid == bindparam("flavorid"))
_EXTRA_SPECS = select(FlavorExtraSpec.key, FlavorExtraSpec.value).where(FlavorExtraSpec.flavor_id == bindparam("id"))


def _load_flavor(session: Session, flavor_id: str) -> FlavorRecord:
    connection = session.connection()
    row = connection.execute(_FLAVOR_BY_ID, {"flavorid": flavor_id}).first()
    if row is None:
        raise bad_request(f"Flavor {flavor_id} could not be found.")
    if row.disabled:
        raise bad_request(f"Flavor {flavor_id} is disabled and cannot be used for new servers.")
    specs = connection.execute(_EXTRA_SPECS, {"id": row.id}).all()
    return FlavorRecord(
        flavorid=row.flavorid, name=row.name, vcpus=row.vcpus, memory_mb=row.memory_mb,
        root_gb=row.root_gb, ephemeral_gb=row.ephemeral_gb, swap=row.swap,
        rxtx_factor=row.rxtx_factor, is_public=row.is_public, description=row.description,
        extra_specs={key: value for key, value in specs},
    )


async def find_flavor(runtime: Runtime, flavor_ref: str) -> FlavorRecord:
    """The usable flavor a request names (by id or link), with its extra specs, or a 400."""
    flavor_id = flavor_ref.rstrip("/").rsplit("/", 1)[-1]
    # Core rows in one synchronous pass: this runs on every boot, and ORM entities or one
    # asyncio hand-off per statement cost several times the two small queries themselves.
    async with runtime.require_api_db()() as session:
        return await session.run_sync(_load_flavor, flavor_id)


_INSERT_BUILD = insert(BuildRequest.__table__)
_INSERT_SPEC = insert(RequestSpec.__table__)
_INSERT_MAPPING = insert(InstanceMapping.__table__)


def _insert_builds(session: Session, builds: list[dict[str, Any]], specs: list[dict[str, Any]],
                   mappings: list[dict[str, Any]]) -> None:
    connection = session.connection()
    connection.execute(_INSERT_BUILD, builds)
    connection.execute(_INSERT_SPEC, specs)
    connection.execute(_INSERT_MAPPING, mappings)


async def resolve_image(runtime: Runtime, ctx: RequestContext, image_ref: str, flavor: FlavorRecord) -> ImageRecord:
    """The image to boot, checked against the image service (in-process) when it is enabled."""
    if not runtime.settings.image.enabled:
        return ImageRecord(id=image_ref)
    try:
        image_id, name, props = await image_for_boot(runtime.require_api_db(), ctx, image_ref)
    except ImageUnusable as exc:
        raise bad_request(str(exc)) from None
    if flavor.memory_mb < (props.get("min_ram") or 0):
        raise bad_request("Flavor's memory is too small for requested image.")
    if flavor.root_gb and ((props.get("min_disk") or 0) > flavor.root_gb
                           or (props.get("size") or 0) > flavor.root_gb * 1024 ** 3):
        raise bad_request("Flavor's disk is too small for requested image.")
    return ImageRecord(id=image_id, name=name, properties=props)


async def create_servers(runtime: Runtime, ctx: RequestContext, body: dict[str, Any],
                         version: APIVersion) -> Created:
    if isinstance(body.get("server"), dict):
        _check_versioned_fields(body["server"], version)
    try:
        request = ServerCreateRequest.model_validate(body)
    except ValidationError as exc:
        raise bad_request(describe_validation(exc)) from None
    server = request.server
    if version.at_least("2.37") and server.networks is None:
        raise bad_request("'networks' is a required property (since microversion 2.37): "
                          "use \"auto\", \"none\" or a list of networks")
    if not server.imageRef:
        raise bad_request("Missing imageRef attribute: novalite boots servers from images only.")
    key_data = None
    if server.key_name is not None:
        key_data = (await keypair_ops.find_for_boot(runtime, ctx.user_id or "", server.key_name)).public_key
    zone, forced_hosts = await check_zone(runtime, ctx, server.availability_zone)
    count = server.max_count or server.min_count
    if count > MAX_INSTANCES_PER_REQUEST:
        raise bad_request(f"max_count {count} is larger than {MAX_INSTANCES_PER_REQUEST} servers per request.")
    flavor = await find_flavor(runtime, server.flavorRef)
    hints = request.scheduler_hints or request.scheduler_hints_legacy or {}
    group = await check_hints(runtime, ctx, hints)

    uuids = [str(uuidlib.uuid4()) for _ in range(count)]
    reservation_id = f"r-{secrets.token_hex(4)}"
    admin_pass = server.adminPass or secrets.token_urlsafe(9)
    image = await resolve_image(runtime, ctx, server.imageRef, flavor)
    now = utcnow()
    spec_template = RequestSpecRecord(
        instance_uuid=uuids[0], project_id=ctx.project_id or "", user_id=ctx.user_id or "",
        flavor=flavor, image=image, num_instances=count, availability_zone=zone, force_hosts=forced_hosts,
        scheduler_hints=hints, instance_group=group,
    )
    flavor_json = flavor.model_dump(mode="json")
    builds, specs, mappings = [], [], []
    for index, uuid in enumerate(uuids):
        name = server.name if count == 1 else f"{server.name}-{index + 1}"
        hostname = server.hostname or hostname_from(name)
        if count > 1 and server.hostname:
            hostname = f"{server.hostname}-{index + 1}"
        instance = {
            "uuid": uuid, "display_name": name, "display_description": server.description,
            "hostname": hostname, "project_id": ctx.project_id, "user_id": ctx.user_id,
            "image_ref": image.id, "flavor": flavor_json,
            "vm_state": VmState.BUILDING, "task_state": TaskState.SCHEDULING, "power_state": 0,
            "availability_zone": zone, "user_data": server.user_data,
            "key_name": server.key_name, "key_data": key_data,
            "config_drive": "True" if server.config_drive else "",
            "access_ip_v4": server.accessIPv4, "access_ip_v6": server.accessIPv6,
            "metadata": server.metadata,
            "system_metadata": {"image": image.properties, "scheduler_hints": hints,
                                "pinned_az": zone},
            "tags": {"tags": server.tags or []},
            "launch_index": index, "reservation_id": reservation_id,
            "created_at": now.isoformat(),
        }
        builds.append({"instance_uuid": uuid, "project_id": ctx.project_id or "", "instance": instance,
                       "created_at": now})
        specs.append({"instance_uuid": uuid,
                      "spec": spec_template.model_copy(update={"instance_uuid": uuid}).model_dump(mode="json")})
        mappings.append({"instance_uuid": uuid, "project_id": ctx.project_id or "", "user_id": ctx.user_id or "",
                         "queued_for_delete": False, "created_at": now})
    # Core inserts in one transaction: all three records of every server, or none.
    async with runtime.require_api_db()() as session, session.begin():
        await session.run_sync(_insert_builds, builds, specs, mappings)
        await add_group_members(session, group, uuids)
    try:
        await ConductorAPI(runtime.bus).build_instances(ctx, uuids)
    except Exception as exc:
        raise ComputeFault(503, f"The servers were recorded but the conductor could not be reached: {exc}") from exc
    return Created(uuids=uuids, reservation_id=reservation_id, admin_pass=admin_pass,
                   return_reservation_id=request.server.return_reservation_id)
