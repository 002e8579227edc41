"""Reporting's projections, targets, warning rules, warnings, summaries and the kit's tables.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from shulian_common.messaging import create_kit_tables, drop_kit_tables
from shulian_common.records import Json, record_columns

revision = "0001"
down_revision = None
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


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, Json, nullable=False)


def _ts(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _projections() -> None:
    op.create_table(
        "p_suppliers",
        *_projection("p_suppliers"),
        _s("city_code", 6),
        _s("county_code", 6),
        sa.Column("high_end", sa.Boolean(), nullable=False),
        _s("listing_status", 20),
        sa.Column("listed_on", sa.Date(), nullable=True),
        _json("industries"),
        _json("listing_industries"),
        _json("figures"),
    )
    op.create_index("ix_p_suppliers_city_code", "p_suppliers", ["city_code"])
    op.create_table(
        "p_network",
        *_projection("p_network"),
        _s("kind", 20),
        _s("subtype", 40, nullable=True),
        _s("level", 20, nullable=True),
        _s("county_code", 6),
        _s("city_code", 6, nullable=True),
        sa.Column("since", sa.Date(), nullable=False),
        _s("supplier_id", ID, nullable=True),
        _json("industries"),
        sa.Column("linked_platforms", sa.Integer(), nullable=False),
        sa.Column("key_service_objects", sa.Integer(), nullable=False),
    )
    op.create_index("ix_p_network_kind", "p_network", ["kind"])
    op.create_table(
        "p_enterprises",
        *_projection("p_enterprises"),
        _s("city_code", 6),
        _s("county_code", 6),
        _json("industries"),
    )
    op.create_index("ix_p_enterprises_city_code", "p_enterprises", ["city_code"])


def _own_records() -> None:
    op.create_table(
        "targets",
        *record_columns("targets"),
        _s("indicator", 60),
        _s("scope_code", 20),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.UniqueConstraint("indicator", "scope_code", name="uq_targets_indicator"),
    )
    op.create_table(
        "warning_rules",
        *record_columns("warning_rules"),
        _s("code", 60),
        _s("kind", 40),
        _s("indicator", 60, nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _s("name", 200),
        sa.UniqueConstraint("code", name="uq_warning_rules_code"),
    )
    op.create_table(
        "warnings",
        *record_columns("warnings"),
        _s("rule_code", 60),
        _s("scope_code", 20),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _ts("raised_at"),
        _ts("cleared_at", nullable=True),
    )
    op.create_index("ix_warnings_rule_code", "warnings", ["rule_code"])
    op.create_table(
        "summaries",
        *record_columns("summaries"),
        _s("city_code", 6),
        sa.Column("year", sa.Integer(), nullable=False),
        _s("status", 20),
        _json("sections"),
        sa.Column("comment", sa.Text(), nullable=True),
        _ts("submitted_at", nullable=True),
        _ts("decided_at", nullable=True),
        sa.UniqueConstraint("city_code", "year", name="uq_summaries_city_code"),
    )


def upgrade() -> None:
    """Outbox, inbox, idempotency keys; projections; targets, rules, warnings, summaries."""
    create_kit_tables(op)
    _projections()
    _own_records()


def downgrade() -> None:
    """Drop everything ``upgrade`` created."""
    for table in ("summaries", "warnings", "warning_rules", "targets"):
        op.drop_table(table)
    for table in ("p_enterprises", "p_network", "p_suppliers"):
        op.drop_table(table)
    drop_kit_tables(op)
