"""Applying again after a decline: each application keeps the order's terms version it was made
on, and the one-application-per-talent-and-order constraint becomes one *standing* (pending,
applied, accepted) application per talent and order, so declined ones stay beside a new one.

Applications made before this revision are taken as made on the order's current terms: a talent
declined before it may apply again once the terms next change.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STANDING = "status IN ('accepted', 'applied', 'pending')"


def upgrade() -> None:
    """Add ``applications.terms_version``; one standing application per talent and order."""
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("terms_version", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE applications SET terms_version = "
        "(SELECT orders.terms_version FROM orders WHERE orders.id = applications.order_id)"
    )
    with op.batch_alter_table("applications") as batch:
        batch.alter_column("terms_version", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("uq_applications_order_talent", type_="unique")
    # Outside the batch: SQLite's table copy would not keep a partial index's condition.
    op.create_index("ix_applications_order_talent", "applications", ["order_id", "talent_id"])
    op.create_index(
        "uq_applications_standing",
        "applications",
        ["order_id", "talent_id"],
        unique=True,
        sqlite_where=sa.text(STANDING),
        postgresql_where=sa.text(STANDING),
    )


def downgrade() -> None:
    """Back to one application per talent and order (fails while a talent has applied again)."""
    op.drop_index("uq_applications_standing", table_name="applications")
    op.drop_index("ix_applications_order_talent", table_name="applications")
    with op.batch_alter_table("applications") as batch:
        batch.create_unique_constraint("uq_applications_order_talent", ["order_id", "talent_id"])
        batch.drop_column("terms_version")
