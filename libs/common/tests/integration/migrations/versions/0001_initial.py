"""The kit's tables, as every service's first revision creates them, and two probe tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shulian_common.messaging import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The kit's tables; ``items`` (what a write changes), ``applied`` (what a consumer did)."""
    create_kit_tables(op)
    op.create_table(
        "items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "applied",
        # seq gives the order in which a consumer applied events, to check per-key order.
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        # A second application of one event by one consumer is an error, never a silent count.
        sa.UniqueConstraint("consumer", "event_id", name="uq_applied_consumer"),
    )


def downgrade() -> None:
    """Drop everything ``upgrade`` created."""
    op.drop_table("applied")
    op.drop_table("items")
    drop_kit_tables(op)
