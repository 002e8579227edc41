"""The replica of other nodes' talents, as ``talent.saved`` publishes them: occupation, skills and
county under an opaque id, no personal data; job orders rank them beside this node's talents.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shulian_common.records import Json

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``talent_summaries``."""
    op.create_table(
        "talent_summaries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_node", sa.String(6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occupation_code", sa.String(40), nullable=True),
        sa.Column("skills", Json, nullable=False),
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_talent_summaries"),
    )


def downgrade() -> None:
    """Drop ``talent_summaries``."""
    op.drop_table("talent_summaries")
