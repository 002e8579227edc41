"""The kit's ``requests`` table: approvals and returns this node asked other nodes to decide on
their annual summaries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from shulian_common.commands import create_request_tables, drop_request_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``requests``."""
    create_request_tables(op)


def downgrade() -> None:
    """Drop ``requests``."""
    drop_request_tables(op)
