"""The kit's tables: outbox, inbox and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from shulian_common.messaging import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Outbox (with the relay's position), inbox, idempotency keys."""
    create_kit_tables(op)


def downgrade() -> None:
    """Drop the kit's tables."""
    drop_kit_tables(op)
