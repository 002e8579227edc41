"""Alembic environment of the kit example: the common async, batch-mode-on-SQLite runner."""

from kit_example.orm import metadata

from shulian_common.db import run_migrations_from_env

run_migrations_from_env(metadata)
