"""Orders, grabs, the supplier replica and its facets, talents and applications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shulian_common.records import Json, record_columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _code(name: str, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(40), nullable=nullable)


def upgrade() -> None:
    """Create matching's tables."""
    op.create_table(
        "orders",
        *record_columns("orders"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("placer_kind", sa.String(16), nullable=False),
        sa.Column("placed_by", sa.String(32), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        _code("service_line"),
        _code("industry"),
        _code("occupation_code"),
        sa.Column("skills", Json, nullable=False),
        sa.Column("head_count", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("budget_yuan", sa.Integer(), nullable=True),
        sa.Column("monthly_pay_yuan", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("visible_cities", Json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("awarded_count", sa.Integer(), nullable=False),
        sa.Column("accepted_count", sa.Integer(), nullable=False),
        sa.Column("terms_version", sa.Integer(), nullable=False),
        sa.Column("placements", sa.Integer(), nullable=True),
        sa.Column("contract_value_yuan", sa.Integer(), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_orders_status_city", "orders", ["status", "city_code"])
    op.create_index("ix_orders_owner_node", "orders", ["owner_node"])
    op.create_table(
        "grabs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("order_owner_node", sa.String(6), nullable=False),
        sa.Column("supplier_id", sa.String(32), nullable=False),
        sa.Column("requester_node", sa.String(6), nullable=False),
        sa.Column("terms_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grabs"),
    )
    op.create_index("ix_grabs_order_status", "grabs", ["order_id", "status"])
    op.create_index("ix_grabs_supplier_status", "grabs", ["supplier_id", "status"])
    op.create_table(
        "suppliers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_node", sa.String(6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("listing_status", sa.String(20), nullable=False),
        sa.Column("high_end", sa.Boolean(), nullable=False),
        sa.Column("service_lines", Json, nullable=False),
        sa.Column("industries", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_suppliers"),
    )
    op.create_index("ix_suppliers_listing_city", "suppliers", ["listing_status", "city_code"])
    op.create_table(
        "supplier_facets",
        sa.Column("supplier_id", sa.String(32), nullable=False),
        sa.Column("facet", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint("supplier_id", "facet", name="pk_supplier_facets"),
    )
    op.create_index("ix_supplier_facets_facet", "supplier_facets", ["facet", "supplier_id"])
    op.create_table(
        "talents",
        *record_columns("talents"),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("id_number", sa.String(18), nullable=False),
        _code("occupation_code"),
        sa.Column("skills", Json, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.UniqueConstraint("account", name="uq_talents_account"),
    )
    op.create_table(
        "applications",
        *record_columns("applications"),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("talent_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_applications_order_id_orders"
        ),
        sa.ForeignKeyConstraint(
            ["talent_id"], ["talents.id"], name="fk_applications_talent_id_talents"
        ),
        sa.UniqueConstraint("order_id", "talent_id", name="uq_applications_order_talent"),
    )


def downgrade() -> None:
    """Drop matching's tables."""
    for table in ("applications", "talents", "supplier_facets", "suppliers", "grabs", "orders"):
        op.drop_table(table)
