"""Matching's tables: orders (own and replicated), grabs, the supplier replica, talents and
their applications."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shulian_common.commands import include_request_tables
from shulian_common.db import new_metadata
from shulian_common.records import ID_LENGTH, Json, Record, UTCDateTime
from shulian_matching.domain.talents import STANDING

MIGRATIONS = Path(__file__).with_name("migrations")
CODE = 40  # service-line, industry and occupation codes
ANY_INDUSTRY = "*"  # ``supplier_eligibility.industry`` of a line's row for any industry
STANDING_WHERE = "status IN ({})".format(", ".join(f"'{s}'" for s in sorted(STANDING)))


class Base(DeclarativeBase):
    """Declarative base bound to the project's naming convention."""

    metadata = new_metadata()


class Order(Record, Base):
    """An order; ``owner_node`` other than this node's means a replica from the orders stream."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_status_city", "status", "city_code"),
        Index("ix_orders_owner_node", "owner_node"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    placer_kind: Mapped[str] = mapped_column(String(16))
    placed_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    county_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6))
    service_line: Mapped[str | None] = mapped_column(String(CODE))
    industry: Mapped[str | None] = mapped_column(String(CODE))
    occupation_code: Mapped[str | None] = mapped_column(String(CODE))
    skills: Mapped[list[str]] = mapped_column(Json)
    head_count: Mapped[int] = mapped_column(Integer)
    slots: Mapped[int] = mapped_column(Integer)
    budget_yuan: Mapped[int | None] = mapped_column(Integer)
    monthly_pay_yuan: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[date] = mapped_column(Date)
    visibility: Mapped[str] = mapped_column(String(16))
    visible_cities: Mapped[list[str]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16))
    awarded_count: Mapped[int] = mapped_column(Integer)
    accepted_count: Mapped[int] = mapped_column(Integer)
    terms_version: Mapped[int] = mapped_column(Integer)
    placements: Mapped[int | None] = mapped_column(Integer)
    contract_value_yuan: Mapped[int | None] = mapped_column(Integer)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Grab(Base):
    """A grab as this node knows it: the requester's copy, the owner's decision, or both."""

    __tablename__ = "grabs"
    __table_args__ = (
        Index("ix_grabs_order_status", "order_id", "status"),
        Index("ix_grabs_supplier_status", "supplier_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    order_owner_node: Mapped[str] = mapped_column(String(6))
    supplier_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    requester_node: Mapped[str] = mapped_column(String(6))
    terms_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(40))
    # The owner's decision order for this order (0 until decided): standby grabs go by it.
    seq: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012


class Supplier(Base):
    """The replica of a registry supplier (any node's): what grabs and ranking need."""

    __tablename__ = "suppliers"
    __table_args__ = (Index("ix_suppliers_listing_city", "listing_status", "city_code"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_node: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    name: Mapped[str] = mapped_column(String(200))
    city_code: Mapped[str] = mapped_column(String(6))
    listing_status: Mapped[str] = mapped_column(String(20))
    high_end: Mapped[bool] = mapped_column(Boolean)
    service_lines: Mapped[list[str]] = mapped_column(Json)
    industries: Mapped[list[str]] = mapped_column(Json)


class SupplierEligibility(Base):
    """The eligibility index of the supplier replica: one row per *listed* supplier and (service
    line, industry) it serves — plus one per line with ``industry`` ``ANY_INDUSTRY``, for orders
    naming no industry — carrying the supplier's city. Kept by ``repository.upsert_supplier`` in
    the replica upsert's transaction, so it never disagrees with ``suppliers``. Ranking counts and
    pages eligible suppliers by index-only range scans: the primary key for a line, industry and
    city; the line-industry-supplier index for the province in id order; the supplier index to
    replace a supplier's rows."""

    __tablename__ = "supplier_eligibility"
    __table_args__ = (
        Index(
            "ix_supplier_eligibility_line_industry_supplier",
            "service_line",
            "industry",
            "supplier_id",
            "city_code",
        ),
        Index("ix_supplier_eligibility_supplier", "supplier_id"),
    )

    service_line: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    industry: Mapped[str] = mapped_column(String(CODE), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    supplier_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class Talent(Record, Base):
    """A talent's profile; name, phone and ID number are personal data and stay on this node."""

    __tablename__ = "talents"
    __table_args__ = (UniqueConstraint("account", name="uq_talents_account"),)

    account: Mapped[str] = mapped_column(String(200))  # the talent's token subject
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20))
    id_number: Mapped[str] = mapped_column(String(18))
    occupation_code: Mapped[str | None] = mapped_column(String(CODE))
    skills: Mapped[list[str]] = mapped_column(Json)
    county_code: Mapped[str] = mapped_column(String(6))


class TalentSummary(Base):
    """The replica of another node's talent, as ``talent.saved`` publishes it: no personal data."""

    __tablename__ = "talent_summaries"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_node: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occupation_code: Mapped[str | None] = mapped_column(String(CODE))
    skills: Mapped[list[str]] = mapped_column(Json)
    county_code: Mapped[str] = mapped_column(String(6))


class Application(Record, Base):
    """A talent's application to a job order.

    On the order's owner node (``owner_node``) it is the application the placer answers; the
    talent may keep the profile on another node (``talent_node``): then ``talent_id`` is only a
    pseudonymous reference, and the occupation, skills and county the application carried are all
    this node knows of the talent. On the talent's node, an application to another node's order is
    the talent's copy, which follows the owner's decisions (``pending`` until the owner received
    it, ``rejected`` with a ``reason`` if it refused it).
    """

    __tablename__ = "applications"
    # A talent may apply again once declined (``domain.talents``), but the database, not only the
    # handler, keeps one standing application per talent and order.
    __table_args__ = (
        Index("ix_applications_order_talent", "order_id", "talent_id"),
        Index(
            "uq_applications_standing",
            "order_id",
            "talent_id",
            unique=True,
            sqlite_where=text(STANDING_WHERE),
            postgresql_where=text(STANDING_WHERE),
        ),
    )

    order_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("orders.id"))
    # A talent of this node, or another node's pseudonymous reference: no foreign key.
    talent_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    status: Mapped[str] = mapped_column(String(16))
    talent_node: Mapped[str | None] = mapped_column(String(6))
    occupation_code: Mapped[str | None] = mapped_column(String(CODE))
    skills: Mapped[list[str] | None] = mapped_column(Json)
    county_code: Mapped[str | None] = mapped_column(String(6))
    reason: Mapped[str | None] = mapped_column(String(40))
    # The order's terms the application was made on (on the owner node, its terms then).
    terms_version: Mapped[int] = mapped_column(Integer)


metadata = Base.metadata
# The kit's ``requests`` table (grabs and confirmations sent to other nodes' owners).
include_request_tables(metadata)
