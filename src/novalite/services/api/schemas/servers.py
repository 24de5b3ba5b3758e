"""The body of POST /servers."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Name = Annotated[str, Field(min_length=1, max_length=255)]
_HOSTNAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NetworkRequest(Strict):
    uuid: str | None = None
    port: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


class SecurityGroupRef(Strict):
    name: str


class BlockDeviceMapping(BaseModel):
    model_config = ConfigDict(extra="allow")


class ServerCreate(Strict):
    name: Name
    imageRef: str | None = None
    flavorRef: Annotated[str, Field(min_length=1)]
    networks: Literal["auto", "none"] | list[NetworkRequest] | None = None
    availability_zone: str | None = None
    metadata: dict[Annotated[str, Field(min_length=1, max_length=255)], Annotated[str, Field(max_length=255)]] = Field(
        default_factory=dict)
    key_name: str | None = None
    user_data: str | None = None
    min_count: Annotated[int, Field(ge=1)] = 1
    max_count: Annotated[int, Field(ge=1)] | None = None
    return_reservation_id: bool = False
    description: Annotated[str, Field(max_length=255)] | None = None
    hostname: str | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(None, max_length=50)
    security_groups: list[SecurityGroupRef] | None = None
    config_drive: bool | str | None = None
    accessIPv4: str | None = None
    accessIPv6: str | None = None
    adminPass: str | None = None
    disk_config: Literal["AUTO", "MANUAL"] | None = Field(None, alias="OS-DCF:diskConfig")
    block_device_mapping_v2: list[BlockDeviceMapping] | None = None
    trusted_image_certificates: list[str] | None = None

    @field_validator("user_data")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("user_data must be base64-encoded") from None
        if len(value) > 65535:
            raise ValueError("user_data is larger than 65535 bytes")
        return value

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        if value is not None and not _HOSTNAME_RE.match(value):
            raise ValueError("hostname must be a valid RFC 1123 label (letters, digits and hyphens, 1-63 chars)")
        return value

    @field_validator("imageRef")
    @classmethod
    def _image_ref(cls, value: str | None) -> str | None:
        if value is not None and value != "":
            value = value.rstrip("/").rsplit("/", 1)[-1]  # Nova accepts an image URL too
        return value

    @field_validator("networks")
    @classmethod
    def _network_uuids(cls, value: Any) -> Any:
        if isinstance(value, list):
            for net in value:
                for field_name in ("uuid", "port"):
                    ref = getattr(net, field_name)
                    if ref is not None:
                        try:
                            uuid.UUID(ref)
                        except ValueError:
                            raise ValueError(f"networks {field_name} '{ref}' is not a UUID") from None
        return value

    @model_validator(mode="after")
    def _counts(self) -> "ServerCreate":
        if self.max_count is not None and self.max_count < self.min_count:
            raise ValueError("min_count must be <= max_count")
        return self


class ServerCreateRequest(Strict):
    server: ServerCreate
    scheduler_hints: dict[str, Any] | None = Field(None, alias="os:scheduler_hints")
    scheduler_hints_legacy: dict[str, Any] | None = Field(None, alias="OS-SCH-HNT:scheduler_hints")
