"""GET /v2/images: Glance's filters, sorting and marker pagination.

Filtering happens in Python over the images a caller may see: a lab holds hundreds of
images, not millions, and the rules (in:, hidden, community) stay readable this way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from novalite.services.image import views
from novalite.services.image.db_models import Image
from novalite.services.image.errors import ImageError
from novalite.services.image.service import Caller, visible

SORT_KEYS = {"name", "created_at", "updated_at", "size", "status", "id", "disk_format", "container_format",
             "min_disk", "min_ram", "visibility", "owner"}
DEFAULT_LIMIT, MAX_LIMIT = 25, 1000
_EXACT = ("name", "status", "visibility", "owner", "disk_format", "container_format", "checksum",
          "os_hash_value", "protected")
_PAGING = {"limit", "marker", "sort_key", "sort_dir", "sort"}


def _values(raw: str) -> set[str]:
    """`in:a,b` (Glance's list operator) or one value."""
    return set(raw[3:].split(",")) if raw.startswith("in:") else {raw}


def _int_param(q: QueryParams, name: str, default: int | None) -> int | None:
    if name not in q:
        return default
    try:
        value = int(q[name])
    except ValueError:
        raise ImageError(400, f"Invalid {name} {q[name]!r}: an integer.") from None
    if value < 0:
        raise ImageError(400, f"Invalid {name} {value}: it cannot be negative.")
    return value


def _sorting(q: QueryParams) -> list[tuple[str, str]]:
    if "sort" in q:
        pairs = [(part.split(":", 1) + ["desc"])[:2] for part in q["sort"].split(",") if part]
    else:
        keys = q.getlist("sort_key") or ["created_at"]
        dirs = q.getlist("sort_dir") or ["desc"]
        pairs = [[k, dirs[i] if i < len(dirs) else dirs[-1]] for i, k in enumerate(keys)]
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise ImageError(400, f"Unsupported sort key {key!r}; use one of {', '.join(sorted(SORT_KEYS))}.")
        if direction not in ("asc", "desc"):
            raise ImageError(400, f"Invalid sort direction {direction!r}: asc or desc.")
    return [(k, d) for k, d in pairs]


def _matches(image: Image, q: QueryParams, who: Caller) -> bool:
    if "id" in q and image.id not in _values(q["id"]):
        return False
    for name in _EXACT:
        if name in q:
            value = getattr(image, name)
            text = str(value).lower() if isinstance(value, bool) else value
            if text not in _values(q[name]):
                return False
    if "visibility" not in q and image.visibility == "community" and image.owner != who.project_id:
        return False  # Glance lists community images only when asked for them
    hidden = q.get("os_hidden", "false").lower() == "true"
    if image.os_hidden != hidden:
        return False
    for tag in q.getlist("tag"):
        if tag not in (image.tags or []):
            return False
    size_min, size_max = _int_param(q, "size_min", None), _int_param(q, "size_max", None)
    if size_min is not None and (image.size is None or image.size < size_min):
        return False
    if size_max is not None and (image.size is None or image.size > size_max):
        return False
    return all(image.properties.get(k) == v for k, v in q.items()
               if k not in _PAGING and k not in _EXACT and k not in {"id", "tag", "size_min", "size_max",
                                                                     "os_hidden", "member_status"})


def _sort(images: list[Image], keys: list[tuple[str, str]]) -> list[Image]:
    for key, direction in reversed(keys + [("id", keys[-1][1])]):
        # None sorts first ascending, as SQL's NULLS FIRST would (equal Nones never compare).
        images.sort(key=lambda i: (getattr(i, key) is not None, getattr(i, key)), reverse=direction == "desc")
    return images


def page(all_images: list[Image], q: QueryParams, who: Caller) -> dict[str, Any]:
    limit = min(_int_param(q, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
    images = _sort([i for i in all_images if visible(i, who) and _matches(i, q, who)], _sorting(q))
    if "marker" in q:
        ids = [i.id for i in images]
        if q["marker"] not in ids:
            raise ImageError(400, f"Invalid marker: image {q['marker']} could not be found.")
        images = images[ids.index(q["marker"]) + 1:]
    body: dict[str, Any] = {"images": [views.image(i) for i in images[:limit]], "first": "/v2/images",
                            "schema": "/v2/schemas/images"}
    if len(images) > limit:
        params = [(k, v) for k, v in q.multi_items() if k != "marker"] + [("marker", images[limit - 1].id)]
        body["next"] = "/v2/images?" + urlencode(params)
    return body
