"""Domain errors of placement, each with Placement's machine-readable code."""

from __future__ import annotations

DEFAULT = "placement.undefined_code"
INVENTORY_INUSE = "placement.inventory.inuse"
CONCURRENT_UPDATE = "placement.concurrent_update"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT = "placement.resource_provider.cannot_delete_parent"
RESOURCE_PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
ILLEGAL_DUPLICATE_QUERYPARAM = "placement.query.duplicate_key"
QUERYPARAM_BAD_VALUE = "placement.query.bad_value"
QUERYPARAM_MISSING_VALUE = "placement.query.missing_value"


class PlacementDomainError(Exception):
    """Base of refusals; the HTTP layer chooses the status from the subclass."""

    def __init__(self, detail: str, code: str = DEFAULT):
        super().__init__(detail)
        self.detail, self.code = detail, code


class NotFound(PlacementDomainError):
    pass


class Conflict(PlacementDomainError):
    pass


class InvalidRequest(PlacementDomainError):
    pass


class ConcurrentUpdate(Conflict):
    def __init__(self, detail: str):
        super().__init__(detail, CONCURRENT_UPDATE)
