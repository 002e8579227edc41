"""Alembic environment of matching: the common async, batch-mode-on-SQLite runner."""

from shulian_common.db import run_migrations_from_env
from shulian_matching.orm import metadata

run_migrations_from_env(metadata)
