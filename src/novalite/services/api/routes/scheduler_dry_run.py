"""POST /os-scheduler-dry-run (admin): what the scheduler would do with a boot request.

The answer lists every compute host with the step that rejected it and why (placement,
with the constraint it fails, or a filter with its reason), or its rank and weight broken
down by weigher. Nothing is claimed and no server is created.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from novalite.context import RequestContext
from novalite.exceptions import MessagingTimeout
from novalite.records import FlavorRecord, ImageRecord, RequestSpecRecord
from novalite.services.api.deps import admin_context_of, json_body, require_key, runtime_of
from novalite.services.api.errors import ComputeFault, bad_request, describe_validation
from novalite.services.api.scheduling_requests import check_hints, check_zone
from novalite.services.api.server_create import find_flavor
from novalite.services.scheduler.rpcapi import SchedulerAPI

router = APIRouter()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FlavorSpec(_Strict):
    vcpus: int = Field(ge=1)
    ram: int = Field(ge=1)
    disk: int = Field(0, ge=0)
    extra_specs: dict[str, str] = Field(default_factory=dict)


class ImageSpec(_Strict):
    id: str = "dry-run"
    properties: dict[str, Any] = Field(default_factory=dict)


class DryRunRequest(_Strict):
    flavorRef: str | None = None
    flavor: FlavorSpec | None = None
    image: ImageSpec = Field(default_factory=ImageSpec)
    availability_zone: str | None = None
    scheduler_hints: dict[str, Any] = Field(default_factory=dict, alias="os:scheduler_hints")
    project_id: str | None = None

    @model_validator(mode="after")
    def _one_flavor(self) -> "DryRunRequest":
        if (self.flavorRef is None) == (self.flavor is None):
            raise ValueError("give exactly one of flavorRef and flavor")
        return self


@router.post("/os-scheduler-dry-run")
async def dry_run(request: Request, ctx: RequestContext = Depends(admin_context_of)) -> dict[str, Any]:
    runtime = runtime_of(request)
    try:
        body = DryRunRequest.model_validate(require_key(await json_body(request), "dry_run"))
    except ValidationError as exc:
        raise bad_request(describe_validation(exc)) from None
    if body.flavor is not None:
        flavor = FlavorRecord(flavorid="dry-run", name="dry-run", vcpus=body.flavor.vcpus,
                              memory_mb=body.flavor.ram, root_gb=body.flavor.disk,
                              extra_specs=body.flavor.extra_specs)
    else:
        flavor = await find_flavor(runtime, body.flavorRef or "")
    zone, forced_hosts = await check_zone(runtime, ctx, body.availability_zone)
    group = await check_hints(runtime, ctx, body.scheduler_hints)
    spec = RequestSpecRecord(
        instance_uuid="00000000-0000-0000-0000-000000000000", project_id=body.project_id or ctx.project_id or "",
        user_id=ctx.user_id or "", flavor=flavor, image=ImageRecord(id=body.image.id, properties=body.image.properties),
        availability_zone=zone, force_hosts=forced_hosts, scheduler_hints=body.scheduler_hints, instance_group=group,
    )
    try:
        report = await SchedulerAPI(runtime.bus).dry_run(ctx, spec)
    except MessagingTimeout as exc:
        raise ComputeFault(503, f"The scheduler did not answer: {exc}") from None
    return {"dry_run": report}
