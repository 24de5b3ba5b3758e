"""`OpenStack-API-Version: placement X.Y` negotiation, as OpenStack Placement does it."""

from __future__ import annotations

import re
from typing import NamedTuple

SERVICE_TYPE = "placement"
HEADER = "openstack-api-version"


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MIN_VERSION = Version(1, 0)
MAX_VERSION = Version(1, 39)

_VERSION_RE = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


class InvalidVersion(ValueError):
    """The header is not a version string (400)."""


class UnacceptableVersion(ValueError):
    """The version is well formed but outside what we serve (406)."""


def parse_version(text: str) -> Version:
    if text == "latest":
        return MAX_VERSION
    match = _VERSION_RE.match(text)
    if not match:
        raise InvalidVersion(f"invalid version string: {text}")
    return Version(int(match.group(1)), int(match.group(2)))


def negotiate(header_value: str | None) -> Version:
    """The version a request asked for; the minimum when it asked for none."""
    if not header_value:
        return MIN_VERSION
    wanted: str | None = None
    for part in header_value.split(","):
        service, _, version = part.strip().partition(" ")
        if service.lower() == SERVICE_TYPE:
            wanted = version.strip()
    if wanted is None:
        return MIN_VERSION
    version = parse_version(wanted)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise UnacceptableVersion(f"Unacceptable version header: {wanted}")
    return version


def version_headers(version: Version) -> dict[str, str]:
    return {HEADER: f"{SERVICE_TYPE} {version}", "vary": HEADER}
