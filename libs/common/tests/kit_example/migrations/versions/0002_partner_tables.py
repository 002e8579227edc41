"""The example serves partner webhooks: the kit's partner tables.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from shulian_common.messaging import create_partner_tables, drop_partner_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Subscriptions, deliveries, attempts."""
    create_partner_tables(op)


def downgrade() -> None:
    """Drop them."""
    drop_partner_tables(op)
