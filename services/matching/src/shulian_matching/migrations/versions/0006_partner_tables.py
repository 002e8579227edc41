"""Partner webhooks: subscriptions, durable deliveries and their attempt log (the kit's tables).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from shulian_common.messaging import create_partner_tables, drop_partner_tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the partner subscription, delivery and attempt tables."""
    create_partner_tables(op)


def downgrade() -> None:
    """Drop the partner tables."""
    drop_partner_tables(op)
