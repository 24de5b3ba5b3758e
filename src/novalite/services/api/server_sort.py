"""`sort_key` / `sort_dir` on server lists: which keys, the SQL order, a marker's place, the merge.

As in Nova: keys pair with directions in order (missing directions take the first one, or
`desc`); `created_at` then the id break ties in the first direction; `host` and `node` are
dropped for non-admins; keys Nova keeps only for compatibility are dropped before 2.75 and
refused from it. NULLs sort as the smallest value on every database, so cells on SQLite
and on PostgreSQL merge into one order.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Callable, Sequence

from sqlalchemy import and_, false, or_
from sqlalchemy.sql.elements import ColumnElement

from novalite.context import RequestContext
from novalite.db.cell_models import Instance
from novalite.services.api.errors import bad_request
from novalite.services.api.microversion import APIVersion

# Nova's valid server sort keys (2.73 adds `locked`).
VALID_KEYS = {
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone", "config_drive", "created_at",
    "display_description", "display_name", "host", "hostname", "image_ref", "instance_type_id", "kernel_id",
    "key_name", "launch_index", "launched_at", "locked_by", "node", "power_state", "progress", "project_id",
    "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at", "user_id", "uuid", "vm_state",
}
# Accepted and ignored before 2.75, refused from it.
IGNORED_KEYS = {
    "architecture", "cell_name", "cleaned", "default_ephemeral_device", "default_swap_device", "deleted",
    "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on",
    "locked", "memory_mb", "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus",
    "vm_mode",
}
# Valid keys for which novalite keeps no column: accepted, and they leave the order as it is.
NO_COLUMN = {"access_ip_v4", "access_ip_v6", "auto_disk_config", "instance_type_id", "kernel_id", "ramdisk_id",
             "root_device_name"}
_DATETIMES = {"created_at", "launched_at", "terminated_at", "updated_at"}

Order = tuple[tuple[str, bool], ...]  # (Instance attribute, descending); created_at and uuid end it
DEFAULT_ORDER: Order = (("created_at", True), ("uuid", True))


def parse_sort(params: Sequence[tuple[str, str]], ctx: RequestContext, version: APIVersion) -> Order:
    keys = [v for k, v in params if k == "sort_key"]
    dirs = [v for k, v in params if k == "sort_dir"]
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise bad_request(f"Invalid input for query parameters sort_dir. Value: {direction}. "
                              "It must be 'asc' or 'desc'.")
    if len(dirs) > len(keys):
        raise bad_request("Sort direction size exceeds sort key size: give each sort_dir a sort_key.")
    valid = VALID_KEYS | {"locked"} if version.at_least("2.73") else VALID_KEYS
    first_dir = dirs[0] if dirs else "desc"
    order: list[tuple[str, bool]] = []
    for i, key in enumerate(keys):
        if key not in valid:
            if key in IGNORED_KEYS and not version.at_least("2.75"):
                continue
            raise bad_request(f"Invalid input for query parameters sort_key. Value: {key}. "
                              f"It must be one of: {', '.join(sorted(valid))}.")
        if key in ("host", "node") and not ctx.is_admin:
            continue  # Nova drops them for other users rather than tell where servers run
        if key in NO_COLUMN or any(k == key for k, _ in order):
            continue
        order.append((key, (dirs[i] if i < len(dirs) else first_dir) == "desc"))
    for tie_breaker in ("created_at", "uuid"):
        if all(k != tie_breaker for k, _ in order):
            order.append((tie_breaker, first_dir == "desc"))
    return tuple(order)


def order_by(order: Order) -> list[Any]:
    return [getattr(Instance, key).desc().nulls_last() if desc else getattr(Instance, key).asc().nulls_first()
            for key, desc in order]


def after_marker(order: Order, marker: Sequence[Any]) -> ColumnElement[bool]:
    """Instance rows that come after the marker's values in `order`."""
    terms = []
    for i, (key, desc) in enumerate(order):
        column, value = getattr(Instance, key), marker[i]
        ties = [getattr(Instance, k).is_not_distinct_from(marker[j]) for j, (k, _) in enumerate(order[:i])]
        if desc:
            if value is None:
                continue  # NULLs come last when descending: nothing follows on this key
            step = or_(column < value, column.is_(None))
        else:
            step = column.is_not(None) if value is None else column > value
        terms.append(and_(*ties, step))
    return or_(*terms) if terms else false()


def values_of(order: Order, get: Callable[[str], Any]) -> tuple[Any, ...]:
    values = []
    for key, _ in order:
        value = get(key)
        if key in _DATETIMES and isinstance(value, str):  # build requests keep timestamps as text
            value = dt.datetime.fromisoformat(value).replace(tzinfo=None)
        values.append(value)
    return tuple(values)


def _compare(order: Order, a: Sequence[Any], b: Sequence[Any]) -> int:
    for (_, desc), x, y in zip(order, a, b):
        if x == y:
            continue
        smaller = x is None or (y is not None and x < y)
        return (1 if smaller else -1) if desc else (-1 if smaller else 1)
    return 0


def sort_key(order: Order) -> Callable[[Sequence[Any]], Any]:
    """A key for sorted() over value tuples, in `order`."""
    return functools.cmp_to_key(functools.partial(_compare, order))


def comes_after(order: Order, values: Sequence[Any], marker: Sequence[Any]) -> bool:
    return _compare(order, values, marker) > 0
