"""A write stamp per projected row: ``written``, the table's position (its ``projection_state``
sequence) as of the transaction that last wrote the row, indexed, so reports reload only the
rows written since they last loaded a table. Rows already there get 0 (written before any
report could have loaded them incrementally: a report's first load of a table is whole).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = (
    "p_suppliers",
    "p_network",
    "p_enterprises",
    "p_activities",
    "p_registrations",
    "p_orders",
    "p_talents",
)


def upgrade() -> None:
    """``written`` (0 for the rows there) and its index on every projection table."""
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("written", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
            )
        op.create_index(f"ix_{table}_written", table, ["written"])


def downgrade() -> None:
    """The tables without their write stamps."""
    for table in TABLES:
        op.drop_index(f"ix_{table}_written", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("written")
