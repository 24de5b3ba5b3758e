"""Bodies of POST /servers/{id}/action, one model per action."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Reboot(Strict):
    type: Literal["SOFT", "HARD"]

    @field_validator("type", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Lock(Strict):
    locked_reason: Annotated[str, Field(max_length=255)] | None = None


class ConsoleOutput(Strict):
    length: int | None = None

    @field_validator("length", mode="before")
    @classmethod
    def _length(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int) and value < -1:
            raise ValueError("length must be -1 (everything) or a positive number of lines")
        return None if value == -1 else value


class Rebuild(Strict):
    imageRef: Annotated[str, Field(min_length=1, max_length=255)]
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    metadata: dict[Annotated[str, Field(min_length=1, max_length=255)], Annotated[str, Field(max_length=255)]] | None = None
    adminPass: str | None = None
    description: Annotated[str, Field(max_length=255)] | None = None
    preserve_ephemeral: bool = False
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    key_name: str | None = None
    user_data: str | None = None
    hostname: str | None = None


class Resize(Strict):
    flavorRef: Annotated[str, Field(min_length=1, max_length=255)]
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")


class Migrate(Strict):
    host: Annotated[str, Field(min_length=1, max_length=255)] | None = None


class ServerUpdate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    description: Annotated[str, Field(max_length=255)] | None = None
    hostname: Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")] | None = None
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")


class ServerUpdateRequest(Strict):
    server: ServerUpdate
