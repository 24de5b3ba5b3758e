"""Compute API microversions: negotiation from either header, echoed on every response."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from novalite.services.api.errors import ComputeFault

_VERSION_RE = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@total_ordering
@dataclass(frozen=True)
class APIVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> "APIVersion":
        match = _VERSION_RE.match(text.strip())
        if not match:
            raise ComputeFault(400, f"API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum.")
        return cls(int(match.group(1)), int(match.group(2)))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, APIVersion):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, text: str) -> bool:
        return self >= APIVersion.parse(text)


MIN_VERSION = APIVersion(2, 1)
MAX_VERSION = APIVersion(2, 100)


def negotiate(openstack_header: str | None, legacy_header: str | None) -> APIVersion:
    """The version a request asked for; the minimum when it asked for none."""
    requested: str | None = None
    if openstack_header:
        for item in openstack_header.split(","):
            service, _, value = item.strip().partition(" ")
            if service.lower() == "compute":
                requested = value.strip()
    if requested is None and legacy_header:
        requested = legacy_header.strip()
    if not requested:
        return MIN_VERSION
    if requested.lower() == "latest":
        return MAX_VERSION
    version = APIVersion.parse(requested)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ComputeFault(
            406,
            f"Version {version} is not supported by the API. Minimum is {MIN_VERSION} and maximum is {MAX_VERSION}.",
        )
    return version


def version_headers(version: APIVersion) -> dict[str, str]:
    return {
        "OpenStack-API-Version": f"compute {version}",
        "X-OpenStack-Nova-API-Version": str(version),
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }
