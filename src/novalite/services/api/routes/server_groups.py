"""os-server-groups: affinity, anti-affinity and their soft variants, with members."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select

from novalite.context import RequestContext
from novalite.db.api_models import InstanceMapping, ServerGroup
from novalite.services.api.deps import context_of, json_body, require_key, runtime_of, version_of
from novalite.services.api.errors import bad_request, describe_validation, not_found
from novalite.services.api.microversion import APIVersion
from novalite.services.api.server_list import parse_limit

router = APIRouter()

HARD_POLICIES = ("affinity", "anti-affinity")
SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rules(_Strict):
    max_server_per_host: int = Field(ge=1)


class GroupCreateLegacy(_Strict):
    """Before 2.64: a list holding exactly one policy."""

    name: str = Field(min_length=1, max_length=255)
    policies: list[str] = Field(min_length=1, max_length=1)


class GroupCreate(_Strict):
    """2.64 and later: one policy, and rules for anti-affinity."""

    name: str = Field(min_length=1, max_length=255)
    policy: Literal["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]
    rules: Rules | None = None

    @model_validator(mode="after")
    def _rules_need_anti_affinity(self) -> "GroupCreate":
        if self.rules is not None and self.policy != "anti-affinity":
            raise ValueError("rules are only allowed with the anti-affinity policy")
        return self


def group_view(group: ServerGroup, members: list[str], version: APIVersion) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group.uuid, "name": group.name, "members": members}
    if version.at_least("2.64"):
        view["policy"] = group.policy
        view["rules"] = dict(group.rules or {})
    else:
        view["policies"] = [group.policy]
        view["metadata"] = {}
    if version.at_least("2.13"):
        view["project_id"], view["user_id"] = group.project_id, group.user_id
    return view


async def live_members(request: Request, group: ServerGroup) -> list[str]:
    """Members whose server still exists (a deleted server leaves its group)."""
    uuids = [m.instance_uuid for m in group.members]
    if not uuids:
        return []
    async with runtime_of(request).require_api_db()() as session:
        alive = set((await session.scalars(select(InstanceMapping.instance_uuid).where(
            InstanceMapping.instance_uuid.in_(uuids), InstanceMapping.queued_for_delete.is_(False)))).all())
    return [u for u in uuids if u in alive]


async def find_group(request: Request, ctx: RequestContext, group_id: str) -> ServerGroup | None:
    async with runtime_of(request).require_api_db()() as session:
        group = await session.scalar(select(ServerGroup).where(ServerGroup.uuid == group_id))
    if group is None or (not ctx.is_admin and group.project_id != ctx.project_id):
        return None
    return group


@router.post("/os-server-groups")
async def create_group(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    version = version_of(request)
    raw = require_key(await json_body(request), "server_group")
    try:
        if version.at_least("2.64"):
            body = GroupCreate.model_validate(raw)
            name, policy, rules = body.name, body.policy, body.rules.model_dump() if body.rules else {}
        else:
            legacy = GroupCreateLegacy.model_validate(raw)
            name, policy, rules = legacy.name, legacy.policies[0], {}
    except ValidationError as exc:
        raise bad_request(describe_validation(exc)) from None
    allowed = HARD_POLICIES + (SOFT_POLICIES if version.at_least("2.15") else ())
    if policy not in allowed:
        raise bad_request(f"Invalid input for field/attribute policies. Value: [{policy!r}]. "
                          f"'{policy}' is not one of {list(allowed)}")
    group = ServerGroup(uuid=str(uuidlib.uuid4()), name=name, project_id=ctx.project_id or "",
                        user_id=ctx.user_id or "", policy=policy, rules=rules, members=[])
    async with runtime_of(request).require_api_db()() as session, session.begin():
        session.add(group)
    return {"server_group": group_view(group, [], version)}


@router.get("/os-server-groups")
async def list_groups(request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    params = request.query_params
    query = select(ServerGroup).order_by(ServerGroup.id)
    if not (ctx.is_admin and params.get("all_projects", "").lower() in ("true", "1", "yes")):
        query = query.where(ServerGroup.project_id == (ctx.project_id or ""))
    try:
        offset = int(params.get("offset", 0))
    except ValueError:
        raise bad_request(f"Invalid offset {params['offset']!r}: an integer is required.") from None
    limit = parse_limit(params.get("limit"), runtime_of(request).settings.api.max_limit)
    async with runtime_of(request).require_api_db()() as session:
        groups = (await session.scalars(query.offset(max(offset, 0)).limit(limit))).all()
    version = version_of(request)
    return {"server_groups": [group_view(g, await live_members(request, g), version) for g in groups]}


@router.get("/os-server-groups/{group_id}")
async def show_group(group_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> dict[str, Any]:
    group = await find_group(request, ctx, group_id)
    if group is None:
        raise not_found(f"Instance group {group_id} could not be found.")
    return {"server_group": group_view(group, await live_members(request, group), version_of(request))}


@router.delete("/os-server-groups/{group_id}", status_code=204)
async def delete_group(group_id: str, request: Request, ctx: RequestContext = Depends(context_of)) -> Response:
    async with runtime_of(request).require_api_db()() as session, session.begin():
        group = await session.scalar(select(ServerGroup).where(ServerGroup.uuid == group_id))
        if group is None or (not ctx.is_admin and group.project_id != ctx.project_id):
            raise not_found(f"Instance group {group_id} could not be found.")
        await session.delete(group)
    return Response(status_code=204)
