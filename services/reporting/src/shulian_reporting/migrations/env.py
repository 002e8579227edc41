"""Alembic environment of reporting: the common async, batch-mode-on-SQLite runner."""

from shulian_common.db import run_migrations_from_env
from shulian_reporting.orm import metadata

run_migrations_from_env(metadata)
