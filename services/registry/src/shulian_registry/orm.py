"""Tables of the registry (created by the Alembic migrations, never by ``create_all``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shulian_common.db import new_metadata
from shulian_common.records import ID_LENGTH, Json, Record, UTCDateTime

MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base bound to the project's naming convention."""

    metadata = new_metadata()


class Supplier(Record, Base):
    """An HR service supplier and its key-directory listing status."""

    __tablename__ = "suppliers"

    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    uscc_region_code: Mapped[str] = mapped_column(String(6))
    # No indexes on place or status: searches go through supplier_terms.
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6))
    region: Mapped[str] = mapped_column(String(20))
    service_lines: Mapped[list[str]] = mapped_column(Json)
    industries: Mapped[list[str]] = mapped_column(Json)
    high_end: Mapped[bool] = mapped_column(Boolean)
    listing_status: Mapped[str] = mapped_column(String(20))
    listing_industries: Mapped[list[str]] = mapped_column(Json)
    listing_fields: Mapped[list[str]] = mapped_column(Json)
    figures: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)


class RemoteSupplier(Base):
    """A supplier another node owns, as its latest snapshot event told us (a replica).

    It holds what the directory shows and searches (everything a snapshot carries); contact
    details and the description never travel in events, so a replica has none.
    """

    __tablename__ = "remote_suppliers"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_node: Mapped[str] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(200))
    # Not unique: two nodes may register one USCC before either hears of the other (a conflict,
    # see ``SupplierConflict``); the index serves the province-wide uniqueness check.
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    uscc_region_code: Mapped[str] = mapped_column(String(6))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6))
    region: Mapped[str] = mapped_column(String(20))
    service_lines: Mapped[list[str]] = mapped_column(Json)
    industries: Mapped[list[str]] = mapped_column(Json)
    high_end: Mapped[bool] = mapped_column(Boolean)
    listing_status: Mapped[str] = mapped_column(String(20))
    listing_industries: Mapped[list[str]] = mapped_column(Json)
    listing_fields: Mapped[list[str]] = mapped_column(Json)
    figures: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    # The owner's version of the snapshot held: an event applies only when it carries a newer one.
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SupplierConflict(Base):
    """Two suppliers of different nodes registered with one USCC before either event arrived.

    ``first`` is the record that keeps the USCC by the deterministic rule of
    ``domain.first_of`` (earliest registration, then node code, then id); ``second`` is the
    duplicate its owner node must resolve. One row per pair, whichever node detects it.
    """

    __tablename__ = "supplier_conflicts"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    first_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    first_owner_node: Mapped[str] = mapped_column(String(6))
    first_registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    second_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    second_owner_node: Mapped[str] = mapped_column(String(6))
    second_registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("first_id", "second_id"),)


class SupplierTerm(Base):
    """One search term of one supplier (see ``terms.py``)."""

    __tablename__ = "supplier_terms"

    # The primary key (term, supplier_id) serves both sides of a search: it walks one term's
    # suppliers in id order, and answers "does supplier X carry term T" for the other groups.
    # No foreign key: the terms are derived from the supplier row by the same handler that
    # writes it, and a per-row FK check would double the cost of loading the index.
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    supplier_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class ListingStep(Base):
    """One step of a supplier's listing history: kept forever, never updated."""

    __tablename__ = "listing_steps"

    supplier_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    industries: Mapped[list[str]] = mapped_column(Json)
    fields: Mapped[list[str]] = mapped_column(Json)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_by_role: Mapped[str] = mapped_column(String(32))
    decided_by_node: Mapped[str] = mapped_column(String(6))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Park(Record, Base):
    """An HR service industrial park."""

    __tablename__ = "parks"

    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    industries: Mapped[list[str]] = mapped_column(Json)
    linked_platforms: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    key_service_objects: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    description: Mapped[str | None] = mapped_column(Text)


class Market(Record, Base):
    """An HR market or state-owned HR platform company."""

    __tablename__ = "markets"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    level: Mapped[str] = mapped_column(String(20))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    industries: Mapped[list[str]] = mapped_column(Json)
    linked_platforms: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    description: Mapped[str | None] = mapped_column(Text)


SHARING_STATION_WHERE = "kind = 'sharing_station'"


class Station(Record, Base):
    """A liaison point, workstation, service net or Chengdu sharing station."""

    __tablename__ = "stations"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    host_platform: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    # No foreign key here nor on scenarios, pairings, platforms: the supplier may be another
    # node's, known from ``remote_suppliers``; the handlers check the reference.
    supplier_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    industries: Mapped[list[str]] = mapped_column(Json)
    opened_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)

    # 一县一站: the database, not only the handler, keeps one sharing station per county.
    __table_args__ = (
        Index(
            "uq_stations_sharing_county",
            "county_code",
            unique=True,
            sqlite_where=text(SHARING_STATION_WHERE),
            postgresql_where=text(SHARING_STATION_WHERE),
        ),
    )


class Enterprise(Record, Base):
    """A key enterprise (demand side)."""

    __tablename__ = "enterprises"

    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    industries: Mapped[list[str]] = mapped_column(Json)
    description: Mapped[str | None] = mapped_column(Text)


class Scenario(Record, Base):
    """A deep-collaboration application scenario."""

    __tablename__ = "scenarios"

    title: Mapped[str] = mapped_column(String(200))
    supplier_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    host_kind: Mapped[str] = mapped_column(String(30))
    host_name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("enterprises.id")
    )
    mode: Mapped[str] = mapped_column(String(30))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    industries: Mapped[list[str]] = mapped_column(Json)
    service_lines: Mapped[list[str]] = mapped_column(Json)
    started_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)


class Pairing(Record, Base):
    """A supplier–county pairing or an association pairing."""

    __tablename__ = "pairings"

    kind: Mapped[str] = mapped_column(String(30))
    supplier_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    division_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6), index=True)
    area_kinds: Mapped[list[str]] = mapped_column(Json)
    hr_association: Mapped[str | None] = mapped_column(String(200))
    industry_association: Mapped[str | None] = mapped_column(String(200))
    industries: Mapped[list[str]] = mapped_column(Json)
    started_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)


class Platform(Record, Base):
    """An HR informatisation platform run by a supplier or a node."""

    __tablename__ = "platforms"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    operator_kind: Mapped[str] = mapped_column(String(20))
    supplier_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    division_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str | None] = mapped_column(String(6), index=True)
    url: Mapped[str | None] = mapped_column(String(500))
    launched_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)


metadata = Base.metadata
