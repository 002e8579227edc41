"""Alembic environment of the integration tests' own schema (messaging tables plus probes)."""

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint

from shulian_common.db import new_metadata, run_migrations_from_env

# The probe tables of 0001 (the runner adds the kit's tables), so autogenerate sees no drift.
metadata = new_metadata()
Table(
    "items",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)
Table(
    "applied",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(64), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("key", String(64), nullable=False),
    Column("n", Integer, nullable=False),
    UniqueConstraint("consumer", "event_id", name="uq_applied_consumer"),
)

run_migrations_from_env(metadata)
