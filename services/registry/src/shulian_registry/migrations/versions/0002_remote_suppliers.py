"""The replica of suppliers other nodes own, fed by ``shulian.registry.suppliers.v1``.

Network records may now name a supplier held on another node, so their ``supplier_id`` loses its
foreign key to ``suppliers``: the handlers check that the id is held here or in the replica.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Tables whose supplier_id may name a supplier of another node.
REFERRING = ("stations", "scenarios", "pairings", "platforms")


def _fk(table: str) -> str:
    return f"fk_{table}_supplier_id_suppliers"


def upgrade() -> None:
    # No foreign keys either way: a replica row may arrive before or after the records naming it.
    op.create_table(
        "remote_suppliers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_node", sa.String(6), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("listing_status", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_remote_suppliers"),
    )
    for table in REFERRING:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_fk(table), type_="foreignkey")


def downgrade() -> None:
    # Fails while a record names a supplier of another node: such records must go first.
    for table in REFERRING:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(_fk(table), "suppliers", ["supplier_id"], ["id"])
    op.drop_table("remote_suppliers")
