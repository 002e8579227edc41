"""Reporting's migrations create exactly the tables its ORM declares, plus the kit's."""

from __future__ import annotations

from shulian_common.testing.migrations import assert_no_migration_drift
from shulian_reporting.orm import MIGRATIONS, metadata


async def test_migrations_and_orm_agree(database_url: str) -> None:
    await assert_no_migration_drift(database_url, MIGRATIONS, metadata)
