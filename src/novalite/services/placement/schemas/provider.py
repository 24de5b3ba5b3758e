"""Bodies for providers, inventories, traits, aggregates and resource classes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from novalite.services.placement.schemas.common import (
    CustomName,
    Generation,
    NonNegativeInt,
    PositiveInt,
    ResourceClassName,
    Strict,
    Uuid,
)

ProviderName = Annotated[str, Field(min_length=1, max_length=200)]
Ratio = Annotated[float, Field(gt=0, le=3.40282e38)]


class ProviderCreate(Strict):
    name: ProviderName
    uuid: Uuid | None = None
    parent_provider_uuid: Uuid | None = None


class ProviderUpdate(Strict):
    name: ProviderName
    parent_provider_uuid: Uuid | None = None


class InventoryFields(Strict):
    total: PositiveInt
    reserved: NonNegativeInt = 0
    min_unit: PositiveInt = 1
    max_unit: PositiveInt = 2147483647
    step_size: PositiveInt = 1
    allocation_ratio: Ratio = 1.0

    def data(self) -> dict[str, float | int]:
        return self.model_dump(exclude_unset=False)


class InventoryPut(InventoryFields):
    resource_provider_generation: Generation


class InventoryPost(InventoryFields):
    resource_class: ResourceClassName


class InventoriesPut(Strict):
    resource_provider_generation: Generation
    inventories: dict[ResourceClassName, InventoryFields]


class ResourceClassCreate(Strict):
    name: CustomName


class TraitsPut(Strict):
    traits: list[Annotated[str, Field(pattern=r"^[A-Z0-9_]+$", max_length=255)]]
    resource_provider_generation: Generation


class AggregatesPut(Strict):
    aggregates: list[Uuid]
    resource_provider_generation: Generation
