"""Placement's own tables.

Resource classes, traits, projects, users and consumer types are small lookup tables
referenced by integer id, so the large tables (inventories, allocations) stay narrow and
the candidate queries join on integers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from novalite.db.types import UTCDateTime, utcnow


class PlacementBase(DeclarativeBase):
    pass


class ResourceClass(PlacementBase):
    __tablename__ = "resource_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Trait(PlacementBase):
    __tablename__ = "traits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceProvider(PlacementBase):
    __tablename__ = "resource_providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # root is NULL only for the instant between insert and the update that sets it
    root_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), nullable=True, index=True
    )
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_providers.id"), nullable=True, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Inventory(PlacementBase):
    __tablename__ = "inventories"
    __table_args__ = (
        UniqueConstraint("resource_provider_id", "resource_class_id", name="uniq_inventories0rp0rc"),
        Index("inventories_rc_idx", "resource_class_id", "resource_provider_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE")
    )
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    min_unit: Mapped[int] = mapped_column(Integer, default=1)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    # Sum of the allocations against this (provider, class), kept in the same transaction
    # as every allocation write: capacity checks and candidate queries read one row
    # instead of aggregating the allocations table.
    used: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Project(PlacementBase):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)


class User(PlacementBase):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)


class ConsumerType(PlacementBase):
    __tablename__ = "consumer_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Consumer(PlacementBase):
    __tablename__ = "consumers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    consumer_type_id: Mapped[int | None] = mapped_column(ForeignKey("consumer_types.id"), nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Allocation(PlacementBase):
    __tablename__ = "allocations"
    __table_args__ = (
        Index("allocations_rp_rc_idx", "resource_provider_id", "resource_class_id", "used"),
        Index("allocations_rc_rp_idx", "resource_class_id", "resource_provider_id", "used"),
        Index("allocations_consumer_idx", "consumer_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("resource_providers.id"))
    # the consumer's uuid, as Placement keeps it: allocations outlive nothing else
    consumer_id: Mapped[str] = mapped_column(String(36))
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("resource_classes.id"))
    used: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlacementAggregate(PlacementBase):
    __tablename__ = "placement_aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)


class ResourceProviderAggregate(PlacementBase):
    __tablename__ = "resource_provider_aggregates"
    __table_args__ = (Index("rpa_aggregate_idx", "aggregate_id", "resource_provider_id"),)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE"), primary_key=True
    )
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("placement_aggregates.id"), primary_key=True)


class ResourceProviderTrait(PlacementBase):
    __tablename__ = "resource_provider_traits"
    __table_args__ = (Index("rpt_trait_idx", "trait_id", "resource_provider_id"),)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("resource_providers.id", ondelete="CASCADE"), primary_key=True
    )
    trait_id: Mapped[int] = mapped_column(ForeignKey("traits.id"), primary_key=True)
