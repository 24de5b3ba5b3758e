"""Bodies for allocations (both the list form before 1.12 and the dict form after) and reshaper."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from novalite.services.placement.schemas.common import (
    Generation,
    PositiveInt,
    ResourceClassName,
    Strict,
    Uuid,
)
from novalite.services.placement.schemas.provider import InventoryFields

ExternalId = Annotated[str, Field(min_length=1, max_length=255)]
ConsumerType = Annotated[str, Field(pattern=r"^[A-Z0-9_]+$", max_length=255)]
Resources = dict[ResourceClassName, PositiveInt]


class ProviderRef(Strict):
    uuid: Uuid


class LegacyAllocation(Strict):
    resource_provider: ProviderRef
    resources: Annotated[Resources, Field(min_length=1)]


class LegacyAllocations(Strict):
    """PUT /allocations/{c} before 1.12."""

    allocations: Annotated[list[LegacyAllocation], Field(min_length=1)]
    project_id: ExternalId | None = None
    user_id: ExternalId | None = None


class ProviderResources(Strict):
    resources: Annotated[Resources, Field(min_length=1)]
    generation: Generation | None = None   # accepted and ignored, as Placement does


class ConsumerAllocations(Strict):
    """The dict form (1.12+), also one entry of POST /allocations and of reshaper."""

    allocations: dict[Uuid, ProviderResources]
    project_id: ExternalId
    user_id: ExternalId
    consumer_generation: Generation | None = Field(default=-1)
    mappings: dict[str, list[Uuid]] | None = None
    consumer_type: ConsumerType | None = None


class ReshaperInventories(Strict):
    resource_provider_generation: Generation
    inventories: dict[ResourceClassName, InventoryFields]


class Reshape(Strict):
    inventories: dict[Uuid, ReshaperInventories]
    allocations: dict[Uuid, ConsumerAllocations]
