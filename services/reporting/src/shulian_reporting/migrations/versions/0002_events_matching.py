"""Projections of the events and matching streams; shortage levels and published catalogues.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

from shulian_common.records import Json, record_columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = 32


def _projection(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("owner_node", sa.String(6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _s(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _i(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, Json, nullable=False)


def upgrade() -> None:
    """p_activities, p_registrations, p_orders, p_talents, projection_state, shortage_levels,
    catalogues."""
    op.create_table(
        "p_activities",
        *_projection("p_activities"),
        _s("kind", 30),
        _s("level", 20),
        _s("campaign", 30, nullable=True),
        _s("division_code", 6),
        _s("city_code", 6, nullable=True),
        _s("status", 20),
        _json("industries"),
        _json("occurrences"),
        _i("positions_offered", nullable=True),
        _i("intents_signed", nullable=True),
        _i("hr_managers_attended", nullable=True),
        _i("firms_participated", nullable=True),
    )
    op.create_index("ix_p_activities_kind", "p_activities", ["kind"])
    op.create_table(
        "p_registrations",
        *_projection("p_registrations"),
        _s("activity_id", ID),
        _s("occurrence_key", 20),
        _s("participant_kind", 20),
        _s("participant_id", ID),
        _s("status", 20),
        _i("attendees"),
        sa.Column("checked_in_on", sa.Date(), nullable=True),
    )
    op.create_index("ix_p_registrations_activity_id", "p_registrations", ["activity_id"])
    op.create_table(
        "p_orders",
        *_projection("p_orders"),
        _s("kind", 20),
        _s("city_code", 6),
        _s("county_code", 6),
        _s("service_line", 40, nullable=True),
        _s("industry", 60, nullable=True),
        _s("occupation_code", 40, nullable=True),
        _i("head_count"),
        _i("accepted_count"),
        _s("status", 20),
        sa.Column("placed_on", sa.Date(), nullable=False),
        _i("placements", nullable=True),
        sa.Column("contract_value_yuan", sa.BigInteger(), nullable=True),
        sa.Column("fulfilled_on", sa.Date(), nullable=True),
    )
    op.create_index("ix_p_orders_city_code", "p_orders", ["city_code"])
    op.create_table(
        "p_talents",
        *_projection("p_talents"),
        _s("occupation_code", 40, nullable=True),
        _s("county_code", 6),
        _s("city_code", 6),
    )
    op.create_index("ix_p_talents_city_code", "p_talents", ["city_code"])
    state = op.create_table(
        "projection_state",
        sa.Column("id", sa.Integer(), nullable=False),
        _s("token", 32),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projection_state"),
    )
    op.bulk_insert(state, [{"id": 1, "token": uuid.uuid4().hex, "seq": 0}])
    op.create_table(
        "shortage_levels",
        *record_columns("shortage_levels"),
        _s("code", 20),
        _s("name", 40),
        sa.Column("min_ratio", sa.Float(), nullable=False),
        sa.UniqueConstraint("code", name="uq_shortage_levels_code"),
    )
    op.create_table(
        "catalogues",
        *record_columns("catalogues"),
        _i("year"),
        _i("edition"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        _s("published_by", 200),
        _json("entries"),
        sa.UniqueConstraint("year", "edition", name="uq_catalogues_year"),
    )


def downgrade() -> None:
    """Drop everything ``upgrade`` created."""
    for table in (
        "catalogues",
        "shortage_levels",
        "p_talents",
        "p_orders",
        "p_registrations",
        "p_activities",
    ):
        op.drop_table(table)
