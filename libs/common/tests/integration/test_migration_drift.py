"""The drift check: it passes when migrations and tables agree and names what differs otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint
from sqlalchemy.engine import Connection

from shulian_common.db import create_engine, migrate, new_metadata
from shulian_common.messaging import INBOX, OUTBOX
from shulian_common.testing.migrations import (
    assert_no_migration_drift,
    autogenerate_check,
    migration_drift,
)

MIGRATIONS = Path(__file__).parent / "migrations"


def _probe_tables(*extra: Column[object]) -> MetaData:
    """What the tests' migration 0001 creates besides the kit's tables, plus ``extra`` columns."""
    metadata = new_metadata()
    Table(
        "items",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("name", String(200), nullable=False),
        *extra,
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
    return metadata


async def test_migrations_that_create_the_declared_tables_have_no_drift(database_url: str) -> None:
    await assert_no_migration_drift(database_url, MIGRATIONS, _probe_tables())


async def test_a_column_the_migrations_lack_is_drift(database_url: str) -> None:
    metadata = _probe_tables(Column("colour", String(20), nullable=True))

    drift = await migration_drift(database_url, MIGRATIONS, metadata)

    assert [(d[0], d[2], d[3].name) for d in drift] == [("add_column", "items", "colour")]
    with pytest.raises(AssertionError, match="colour"):
        await assert_no_migration_drift(database_url, MIGRATIONS, metadata)


async def test_a_table_the_orm_lacks_is_drift(database_url: str) -> None:
    metadata = _probe_tables()
    metadata.remove(metadata.tables["applied"])

    drift = await migration_drift(database_url, MIGRATIONS, metadata)

    assert [(d[0], d[1].name) for d in drift] == [("remove_table", "applied")]


async def test_autogenerate_through_env_proposes_nothing_for_a_migrated_database(
    database_url: str,
) -> None:
    # The kit's tables are not in the service's tables; env.py's runner must add them.
    assert await autogenerate_check(database_url, MIGRATIONS) is None


async def test_without_the_kit_tables_autogenerate_would_drop_them(database_url: str) -> None:
    """Why the runner adds the kit's tables: compared with the service's tables alone, it drops."""
    engine = create_engine(database_url)

    def compare(connection: Connection) -> set[str]:
        context = MigrationContext.configure(connection)
        diffs = compare_metadata(context, _probe_tables())
        return {d[1].name for d in diffs if d[0] == "remove_table"}

    try:
        await migrate(engine, MIGRATIONS)
        async with engine.connect() as connection:
            dropped = await connection.run_sync(compare)
    finally:
        await engine.dispose()
    assert {OUTBOX, INBOX} <= dropped
