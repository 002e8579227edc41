"""Tables of reporting (created by the Alembic migrations, never by ``create_all``).

Projections (``p_*``) are reporting's own copies of other services' aggregates, each row the
latest snapshot version seen: rebuilt from the streams by ``shulian reporting rebuild``. The
other tables are reporting's own records: targets, warnings, annual summaries.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shulian_common.commands import include_request_tables
from shulian_common.db import new_metadata
from shulian_common.records import ID_LENGTH, Json, Record, UTCDateTime

MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base bound to the project's naming convention."""

    metadata = new_metadata()


class Projection:
    """What every projected row carries: the owner's id, node and snapshot version."""

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_node: Mapped[str] = mapped_column(String(6))
    # Only a snapshot with a higher version replaces the row: redeliveries and replays are no-ops.
    version: Mapped[int] = mapped_column(Integer)
    # The write stamp: the table's position (its ``projection_state`` sequence) as of the
    # transaction that last wrote the row, so a report reloads only the rows written since it
    # last loaded the table (``handlers/reports.facts_at_position``).
    written: Mapped[int] = mapped_column(BigInteger, index=True, server_default=text("0"))


class ProjectedSupplier(Projection, Base):
    """A supplier: where it is, its directory status and its yearly business figures."""

    __tablename__ = "p_suppliers"

    city_code: Mapped[str] = mapped_column(String(6), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    high_end: Mapped[bool] = mapped_column(Boolean)
    listing_status: Mapped[str] = mapped_column(String(20))
    # The day it last entered the directory; kept while it stays listed, cleared when it leaves.
    listed_on: Mapped[date | None] = mapped_column(Date)
    industries: Mapped[list[str]] = mapped_column(Json)
    listing_industries: Mapped[list[str]] = mapped_column(Json)
    figures: Mapped[list[dict[str, Any]]] = mapped_column(Json)


class ProjectedNetworkRecord(Projection, Base):
    """A park, market, station, scenario, pairing or platform, in one table by ``kind``."""

    __tablename__ = "p_network"

    kind: Mapped[str] = mapped_column(String(20), index=True)
    subtype: Mapped[str | None] = mapped_column(String(40))
    level: Mapped[str | None] = mapped_column(String(20))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6))
    since: Mapped[date] = mapped_column(Date)
    supplier_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    industries: Mapped[list[str]] = mapped_column(Json)
    linked_platforms: Mapped[int] = mapped_column(Integer)
    key_service_objects: Mapped[int] = mapped_column(Integer)


class ProjectedEnterprise(Projection, Base):
    """A key enterprise (the demand side) and its industries."""

    __tablename__ = "p_enterprises"

    city_code: Mapped[str] = mapped_column(String(6), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    industries: Mapped[list[str]] = mapped_column(Json)


class ProjectedActivity(Projection, Base):
    """An activity of the events calendar: kind, level, place, its occurrences and outcome."""

    __tablename__ = "p_activities"

    kind: Mapped[str] = mapped_column(String(30), index=True)
    level: Mapped[str] = mapped_column(String(20))
    campaign: Mapped[str | None] = mapped_column(String(30))
    division_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(20))
    industries: Mapped[list[str]] = mapped_column(Json)
    # The occurrences that stand (not cancelled): [[key, local day ISO], …], in series order.
    occurrences: Mapped[list[list[str]]] = mapped_column(Json)
    # The outcome recorded when completed (None before).
    positions_offered: Mapped[int | None] = mapped_column(Integer)
    intents_signed: Mapped[int | None] = mapped_column(Integer)
    hr_managers_attended: Mapped[int | None] = mapped_column(Integer)
    firms_participated: Mapped[int | None] = mapped_column(Integer)


class ProjectedRegistration(Projection, Base):
    """A supplier's or enterprise's registration for one occurrence of an activity."""

    __tablename__ = "p_registrations"

    activity_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    occurrence_key: Mapped[str] = mapped_column(String(20))
    participant_kind: Mapped[str] = mapped_column(String(20))
    participant_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    status: Mapped[str] = mapped_column(String(20))
    attendees: Mapped[int] = mapped_column(Integer)
    checked_in_on: Mapped[date | None] = mapped_column(Date)


class ProjectedOrder(Projection, Base):
    """An order of matching: what is needed where, how many, and what its fulfilment gave."""

    __tablename__ = "p_orders"

    kind: Mapped[str] = mapped_column(String(20))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    county_code: Mapped[str] = mapped_column(String(6))
    service_line: Mapped[str | None] = mapped_column(String(40))
    industry: Mapped[str | None] = mapped_column(String(60))
    occupation_code: Mapped[str | None] = mapped_column(String(40))
    head_count: Mapped[int] = mapped_column(Integer)
    accepted_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    placed_on: Mapped[date] = mapped_column(Date)
    placements: Mapped[int | None] = mapped_column(Integer)
    contract_value_yuan: Mapped[int | None] = mapped_column(BigInteger)
    fulfilled_on: Mapped[date | None] = mapped_column(Date)


class ProjectedTalent(Projection, Base):
    """A talent as matching exposes it: occupation and place only (no personal data)."""

    __tablename__ = "p_talents"

    occupation_code: Mapped[str | None] = mapped_column(String(40))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6), index=True)


class ProjectionState(Base):
    """Where the projections stand. Row 1: ``seq`` grows with every transaction that writes
    them (and with a rebuild's clearing); ``token`` names this database, so a cache of facts
    keyed by (token, seq) is never served from another database or a stale position. Rows 2–8
    (``repository.PART_STATE``): the same for each projection table alone."""

    __tablename__ = "projection_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(BigInteger)


class ShortageLevel(Record, Base):
    """A shortage level of the catalogue (thresholds as data): from ``min_ratio`` up."""

    __tablename__ = "shortage_levels"

    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    min_ratio: Mapped[float] = mapped_column(Float)


class Catalogue(Record, Base):
    """A published shortage catalogue (急需紧缺人才目录) of one year: its entries, frozen."""

    __tablename__ = "catalogues"
    __table_args__ = (UniqueConstraint("year", "edition"),)

    year: Mapped[int] = mapped_column(Integer)
    edition: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(String(200))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(Json)


class Target(Record, Base):
    """The target of one indicator for one scope (the province, a region or a city)."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("indicator", "scope_code"),)

    indicator: Mapped[str] = mapped_column(String(60))
    scope_code: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)


class WarningRule(Record, Base):
    """A warning rule, kept as data: what it watches, its threshold, whether it is on."""

    __tablename__ = "warning_rules"

    code: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    indicator: Mapped[str | None] = mapped_column(String(60))
    threshold: Mapped[float] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(200))


class Warning(Record, Base):
    """A warning raised for one rule and scope; open until ``cleared_at`` is set."""

    __tablename__ = "warnings"

    rule_code: Mapped[str] = mapped_column(String(60), index=True)
    scope_code: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Summary(Record, Base):
    """A city's annual work summary (年度工作总结) and where it stands in its workflow."""

    __tablename__ = "summaries"
    __table_args__ = (UniqueConstraint("city_code", "year"),)

    city_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    sections: Mapped[dict[str, str]] = mapped_column(Json)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


metadata = Base.metadata
include_request_tables(metadata)  # the kit's ``requests``: decisions asked of other nodes
