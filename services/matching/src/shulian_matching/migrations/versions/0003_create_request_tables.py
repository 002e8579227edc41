"""The kit's ``requests`` table: grabs and confirmations this node sent to orders' owner nodes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from shulian_common.commands import create_request_tables, drop_request_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``requests``."""
    create_request_tables(op)


def downgrade() -> None:
    """Drop ``requests``."""
    drop_request_tables(op)
