"""Applications across nodes: a job order's owner node keeps applications of talents whose profile
is held on another node (by pseudonymous reference, with the facts the placer needs), so the
foreign key to ``talents`` goes; each application says where the talent's profile is, and why a
refused one was refused.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shulian_common.records import Json

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop ``applications``' foreign key to ``talents``; add the applicant's facts."""
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint("fk_applications_talent_id_talents", type_="foreignkey")
        batch.add_column(sa.Column("talent_node", sa.String(6), nullable=True))
        batch.add_column(sa.Column("occupation_code", sa.String(40), nullable=True))
        batch.add_column(sa.Column("skills", Json, nullable=True))
        batch.add_column(sa.Column("county_code", sa.String(6), nullable=True))
        batch.add_column(sa.Column("reason", sa.String(40), nullable=True))


def downgrade() -> None:
    """Back to applications of this node's talents only."""
    with op.batch_alter_table("applications") as batch:
        for column in ("reason", "county_code", "skills", "occupation_code", "talent_node"):
            batch.drop_column(column)
        batch.create_foreign_key(
            "fk_applications_talent_id_talents", "talents", ["talent_id"], ["id"]
        )
