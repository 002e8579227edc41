"""The kit's tables, the notes and their seats, the consumer's log, the requests.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from shulian_common.commands import create_request_tables, drop_request_tables
from shulian_common.messaging import create_kit_tables, drop_kit_tables
from shulian_common.records import record_columns

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Outbox, inbox, idempotency keys, requests; ``notes``, ``seats`` and ``notes_seen``."""
    create_kit_tables(op)
    op.create_table(
        "notes",
        *record_columns("notes"),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
    )
    op.create_table(
        "seats",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("note_id", sa.String(32), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("requester_node", sa.String(6), nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_seats"),
    )
    create_request_tables(op)
    op.create_table(
        "notes_seen",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("note_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_notes_seen"),
    )


def downgrade() -> None:
    """Drop everything ``upgrade`` created."""
    drop_request_tables(op)
    op.drop_table("seats")
    op.drop_table("notes_seen")
    op.drop_table("notes")
    drop_kit_tables(op)
