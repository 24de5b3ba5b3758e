"""Path ids that must be UUIDs: a malformed one is simply not found, as in Nova."""

from __future__ import annotations

import uuid

from novalite.services.api.errors import not_found


def require_uuid(value: str, kind: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        raise not_found(f"{kind} {value} could not be found.") from None
    return value
