"""One provincial directory on every node: full supplier replicas, owner terms, USCC conflicts.

``remote_suppliers`` gains every field a snapshot carries, so replicated suppliers are served by
id and searched like local ones; the search index gains an ``o:`` (owner node) term per supplier,
backfilled here for the local ones (replicated ones are indexed by the consumer). Replica rows
kept before this revision get neutral values for the new columns and are marked ``version = 0``,
so the owner's next snapshot of each replaces them whole (the version gate keeps newer only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = 32
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_EMPTY_LIST = sa.text("'[]'")
_EPOCH = sa.text("'1970-01-01 00:00:00+00:00'")

# New replica columns with the server default that fills rows replicated before this revision.
_NEW_COLUMNS: tuple[tuple[str, Any, Any], ...] = (
    ("uscc", sa.String(18), sa.text("''")),
    ("uscc_region_code", sa.String(6), sa.text("''")),
    ("region", sa.String(20), sa.text("''")),
    ("service_lines", JSON, _EMPTY_LIST),
    ("industries", JSON, _EMPTY_LIST),
    ("high_end", sa.Boolean(), sa.false()),
    ("listing_industries", JSON, _EMPTY_LIST),
    ("listing_fields", JSON, _EMPTY_LIST),
    ("figures", JSON, _EMPTY_LIST),
    ("created_at", sa.DateTime(timezone=True), _EPOCH),
)


def upgrade() -> None:
    with op.batch_alter_table("remote_suppliers") as batch:
        for name, kind, default in _NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=False, server_default=default))
    # The defaults only filled old rows: new rows always carry every field.
    with op.batch_alter_table("remote_suppliers") as batch:
        for name, kind, _default in _NEW_COLUMNS:
            batch.alter_column(name, existing_type=kind, server_default=None)
    op.execute("UPDATE remote_suppliers SET version = 0")
    op.create_index("ix_remote_suppliers_uscc", "remote_suppliers", ["uscc"])
    op.execute(
        "INSERT INTO supplier_terms (term, supplier_id)"
        " SELECT 'o:' || owner_node, id FROM suppliers"
    )
    op.create_table(
        "supplier_conflicts",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("first_id", sa.String(ID), nullable=False),
        sa.Column("first_owner_node", sa.String(6), nullable=False),
        sa.Column("first_registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("second_id", sa.String(ID), nullable=False),
        sa.Column("second_owner_node", sa.String(6), nullable=False),
        sa.Column("second_registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supplier_conflicts"),
        sa.UniqueConstraint("first_id", "second_id", name="uq_supplier_conflicts_first_id"),
    )


def downgrade() -> None:
    op.drop_table("supplier_conflicts")
    op.execute("DELETE FROM supplier_terms WHERE term LIKE 'o:%'")
    # Terms of replicated suppliers go with them: 0003's replica is not searched.
    op.execute("DELETE FROM supplier_terms WHERE supplier_id IN (SELECT id FROM remote_suppliers)")
    op.drop_index("ix_remote_suppliers_uscc", table_name="remote_suppliers")
    with op.batch_alter_table("remote_suppliers") as batch:
        for name, _kind, _default in reversed(_NEW_COLUMNS):
            batch.drop_column(name)
