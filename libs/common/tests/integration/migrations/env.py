"""Alembic environment of the integration tests' own schema (messaging tables plus probes)."""

from shulian_common.db import run_migrations_from_env
from shulian_common.messaging import metadata

run_migrations_from_env(metadata)
