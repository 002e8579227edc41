"""A position per projection table: ``projection_state`` rows 2–8 beside the global row 1, so
reports reload only the projections a consumer batch wrote.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The row of each projection table (``repository.PART_STATE``: the same numbers).
PARTS = range(2, 9)


def upgrade() -> None:
    """One row per projection table, with the database's token and sequence 0."""
    for part in PARTS:
        op.execute(
            sa.text(
                "INSERT INTO projection_state (id, token, seq) "
                "SELECT :part, token, 0 FROM projection_state WHERE id = 1"
            ).bindparams(part=part)
        )


def downgrade() -> None:
    """The global row only."""
    op.execute(sa.text("DELETE FROM projection_state WHERE id > 1"))
