"""Field types shared by the request models."""

from __future__ import annotations

import uuid as uuidlib
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt


def _uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        raise ValueError(f"'{value}' is not a 'uuid'") from None


Uuid = Annotated[str, AfterValidator(_uuid)]
PositiveInt = Annotated[StrictInt, Field(ge=1, le=2147483647)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0, le=2147483647)]
Generation = Annotated[StrictInt, Field(ge=0)]
ResourceClassName = Annotated[str, Field(pattern=r"^[A-Z0-9_]+$", max_length=255)]
CustomName = Annotated[str, Field(pattern=r"^CUSTOM_[A-Z0-9_]+$", max_length=255)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
