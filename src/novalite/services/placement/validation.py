"""Turning request bodies into object-layer writes, by microversion, without HTTP."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from novalite.services.placement.microversion import Version
from novalite.services.placement.objects.allocations import UNCHECKED, ConsumerWrite
from novalite.services.placement.objects.exceptions import InvalidRequest
from novalite.services.placement.schemas.allocation import ConsumerAllocations, LegacyAllocations

M = TypeVar("M", bound=BaseModel)
# What Placement records for consumers written before project/user were required (< 1.8).
INCOMPLETE_ID = "00000000-0000-0000-0000-000000000000"


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidRequest(f"JSON does not validate: {where}: {first['msg']}") from None


def _bad(detail: str) -> InvalidRequest:
    return InvalidRequest(f"JSON does not validate: {detail}")


def consumer_write(version: Version, consumer_uuid: str, raw: Any) -> ConsumerWrite:
    """One consumer's allocations body, read with the rules of `version`."""
    if version < (1, 12):
        legacy = validate(LegacyAllocations, raw)
        if version >= (1, 8) and (legacy.project_id is None or legacy.user_id is None):
            raise _bad("'project_id' and 'user_id' are required properties")
        allocs: dict[str, dict[str, int]] = {}
        for a in legacy.allocations:
            allocs.setdefault(a.resource_provider.uuid, {}).update(a.resources)
        return ConsumerWrite(consumer_uuid, allocs, legacy.project_id or INCOMPLETE_ID,
                             legacy.user_id or INCOMPLETE_ID)
    body = validate(ConsumerAllocations, raw)
    given = body.model_fields_set
    for key, since in (("consumer_generation", (1, 28)), ("mappings", (1, 34)), ("consumer_type", (1, 38))):
        if key in given and version < since:
            raise _bad(f"Additional properties are not allowed ('{key}' was unexpected)")
        if key != "mappings" and key not in given and version >= since:
            raise _bad(f"'{key}' is a required property")
    if not body.allocations and version < (1, 28):
        raise _bad("allocations: {} does not have enough properties")
    return ConsumerWrite(
        consumer_uuid,
        {rp: dict(entry.resources) for rp, entry in body.allocations.items()},
        body.project_id, body.user_id,
        body.consumer_generation if version >= (1, 28) else UNCHECKED,
        body.consumer_type,
    )
