"""Bodies of the flavor APIs."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

_KEY = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\w.:\- ]+$")]


class FlavorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Annotated[str, Field(min_length=1, max_length=255)]
    ram: Annotated[int, Field(ge=1, le=2**31 - 1)]
    vcpus: Annotated[int, Field(ge=1, le=2**31 - 1)]
    disk: Annotated[int, Field(ge=0, le=2**31 - 1)]
    id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\w.\- ]+$")] | None = None
    ephemeral: Annotated[int, Field(ge=0, le=2**31 - 1)] = Field(0, alias="OS-FLV-EXT-DATA:ephemeral")
    swap: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    rxtx_factor: Annotated[float, Field(gt=0, le=3.4e38)] = 1.0
    is_public: bool = Field(True, alias="os-flavor-access:is_public")
    description: Annotated[str, Field(max_length=65535)] | None = None


class FlavorCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flavor: FlavorCreate


class ExtraSpecsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extra_specs: dict[_KEY, Annotated[str, Field(max_length=255)]]
