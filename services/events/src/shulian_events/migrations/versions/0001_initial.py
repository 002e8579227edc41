"""The kit's tables (and requests), activities, occurrences, registrations, participants.

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

ID = 32


def upgrade() -> None:
    """Outbox, inbox, idempotency keys, requests and the calendar's tables."""
    create_kit_tables(op)
    create_request_tables(op)
    _activities()
    op.create_table(
        "occurrences",
        sa.Column("activity_id", sa.String(ID), nullable=False),
        sa.Column("key", sa.String(20), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moved", sa.Boolean(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", "key", name="pk_occurrences"),
    )
    op.create_index("ix_occurrences_starts_at", "occurrences", ["starts_at"])
    op.create_table(
        "activity_industries",
        sa.Column("activity_id", sa.String(ID), nullable=False),
        sa.Column("industry", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", "industry", name="pk_activity_industries"),
    )
    op.create_index("ix_activity_industries_industry", "activity_industries", ["industry"])
    _registrations()
    op.create_table(
        "participants",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("owner_node", sa.String(6), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("listing_status", sa.String(20), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name="pk_participants"),
    )


def _activities() -> None:
    json = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
    op.create_table(
        "activities",
        *record_columns("activities"),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("campaign", sa.String(40), nullable=True),
        sa.Column("division_code", sa.String(6), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=True),
        sa.Column("industries", json, nullable=False),
        sa.Column("host_kind", sa.String(20), nullable=True),
        sa.Column("host_ref", sa.String(ID), nullable=True),
        sa.Column("host_name", sa.String(200), nullable=True),
        sa.Column("venue", sa.String(300), nullable=False),
        sa.Column("timezone", sa.String(40), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rrule", sa.String(500), nullable=True),
        sa.Column("overrides", json, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cancel_reason", sa.String(500), nullable=True),
        sa.Column("outcome", json, nullable=True),
    )
    for column in ("division_code", "city_code", "host_ref", "venue"):
        op.create_index(f"ix_activities_{column}", "activities", [column])


def _registrations() -> None:
    op.create_table(
        "registrations",
        *record_columns("registrations"),
        sa.Column("activity_id", sa.String(ID), nullable=False),
        sa.Column("occurrence_key", sa.String(20), nullable=False),
        sa.Column("participant_kind", sa.String(20), nullable=False),
        sa.Column("participant_id", sa.String(ID), nullable=False),
        sa.Column("participant_name", sa.String(200), nullable=True),
        sa.Column("requester_node", sa.String(6), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hr_managers", sa.Integer(), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_registrations_activity", "registrations", ["activity_id", "occurrence_key", "seq"]
    )
    op.create_index("ix_registrations_participant", "registrations", ["participant_id"])


def downgrade() -> None:
    """Drop everything ``upgrade`` created."""
    op.drop_table("participants")
    op.drop_table("registrations")
    op.drop_table("activity_industries")
    op.drop_table("occurrences")
    op.drop_table("activities")
    drop_request_tables(op)
    drop_kit_tables(op)
