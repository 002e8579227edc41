"""The outbox relay's bookkeeping: a commit-ordered ``position`` and parking of refused rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from shulian_common.messaging import add_outbox_relay_columns, drop_outbox_relay_columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``position``, ``parked_at`` and ``park_error`` (a no-op where 0001 created them)."""
    add_outbox_relay_columns(op)


def downgrade() -> None:
    """Drop the relay's bookkeeping columns."""
    drop_outbox_relay_columns(op)
