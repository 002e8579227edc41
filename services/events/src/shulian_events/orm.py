"""Tables of the calendar: activities (own and replicated), their materialised occurrences,
registrations, and the replica of the registry's suppliers and enterprises."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shulian_common.commands import include_request_tables
from shulian_common.db import new_metadata
from shulian_common.records import ID_LENGTH, Json, Record, UTCDateTime

MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base bound to the project's naming convention."""

    metadata = new_metadata()


class Activity(Record, Base):
    """An activity, single or a series; ``owner_node`` other than this node's: a replica."""

    __tablename__ = "activities"

    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(10))
    campaign: Mapped[str | None] = mapped_column(String(40))
    division_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6))
    industries: Mapped[list[str]] = mapped_column(Json)
    host_kind: Mapped[str | None] = mapped_column(String(20))
    host_ref: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    host_name: Mapped[str | None] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rrule: Mapped[str | None] = mapped_column(String(500))
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    capacity: Mapped[int] = mapped_column(Integer)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approval_required: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(Json)

    __table_args__ = (
        Index("ix_activities_division_code", "division_code"),
        Index("ix_activities_city_code", "city_code"),
        Index("ix_activities_host_ref", "host_ref"),
        Index("ix_activities_venue", "venue"),
    )


class Occurrence(Base):
    """One occurrence of an activity as it stands (moved or cancelled ones included), rebuilt
    from the activity on every change: what date-range lists and clash checks query."""

    __tablename__ = "occurrences"

    activity_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    key: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    moved: Mapped[bool] = mapped_column(Boolean)
    cancelled: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        PrimaryKeyConstraint("activity_id", "key", name="pk_occurrences"),
        Index("ix_occurrences_starts_at", "starts_at"),
    )


class ActivityIndustry(Base):
    """An activity's target industry, one row each: what the industry filter queries."""

    __tablename__ = "activity_industries"

    activity_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    industry: Mapped[str] = mapped_column(String(40))

    __table_args__ = (
        PrimaryKeyConstraint("activity_id", "industry", name="pk_activity_industries"),
        Index("ix_activity_industries_industry", "industry"),
    )


class Registration(Record, Base):
    """A supplier's or enterprise's registration for one occurrence; ``owner_node`` is the
    activity's, which decides it (elsewhere: a replica, for the requester to follow)."""

    __tablename__ = "registrations"

    activity_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    occurrence_key: Mapped[str] = mapped_column(String(20))
    participant_kind: Mapped[str] = mapped_column(String(20))
    participant_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    participant_name: Mapped[str | None] = mapped_column(String(200))
    requester_node: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int] = mapped_column(Integer)
    hr_managers: Mapped[int] = mapped_column(Integer)
    attendees: Mapped[int] = mapped_column(Integer)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(500))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_registrations_activity", "activity_id", "occurrence_key", "seq"),
        Index("ix_registrations_participant", "participant_id"),
    )


class Participant(Base):
    """The replica of the registry's suppliers and enterprises: who may register."""

    __tablename__ = "participants"

    kind: Mapped[str] = mapped_column(String(20))
    id: Mapped[str] = mapped_column(String(ID_LENGTH))
    owner_node: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(200))
    listing_status: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (PrimaryKeyConstraint("kind", "id", name="pk_participants"),)


metadata = Base.metadata
include_request_tables(metadata)  # the kit's ``requests``: registrations this node asked for
