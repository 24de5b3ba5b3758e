"""Small pieces every view uses."""

from __future__ import annotations

import datetime as dt
import hashlib


def isotime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def usec_time(value: dt.datetime | None) -> str | None:
    """Instance action timestamps keep microseconds, as Nova shows them."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def host_id(project_id: str | None, host: str | None) -> str:
    """Nova's opaque hostId: same host and project give the same id, hiding the host name."""
    if not host:
        return ""
    return hashlib.sha224(f"{project_id}{host}".encode()).hexdigest()


def links(base: str, collection: str, ident: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"{base}/compute/v2.1/{collection}/{ident}"},
        {"rel": "bookmark", "href": f"{base}/compute/{collection}/{ident}"},
    ]
