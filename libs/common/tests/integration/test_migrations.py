"""The kit's tables as migrations create them match the tables the code declares."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.messaging import (
    IDEMPOTENCY_KEYS,
    INBOX,
    OUTBOX,
    UNSENT_INDEX,
    add_outbox_relay_columns,
    drop_outbox_relay_columns,
    kit_tables_drift,
)

MIGRATIONS = Path(__file__).parent / "migrations"


async def test_migrated_schema_matches_the_declared_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(kit_tables_drift) == []
        indexes = await connection.run_sync(lambda c: inspect(c).get_indexes(OUTBOX))
    assert [i["name"] for i in indexes if i["column_names"] == ["seq"]] == [UNSENT_INDEX]


async def test_downgrade_drops_the_messaging_tables(engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> list[str]:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        return inspect(connection).get_table_names()

    async with engine.begin() as connection:
        remaining = await connection.run_sync(downgrade)
    assert OUTBOX not in remaining
    assert INBOX not in remaining
    assert IDEMPOTENCY_KEYS not in remaining


async def test_relay_columns_are_added_to_an_outbox_created_without_them(
    engine: AsyncEngine,
) -> None:
    def upgrade_an_old_outbox(connection: Connection) -> tuple[list[Any], list[Any]]:
        operations = Operations(MigrationContext.configure(connection))
        drop_outbox_relay_columns(operations)  # the outbox as services created it before
        columns = "event_id, topic, key, type, source, time, data, published_at"
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        for n, published in enumerate([moment, None, moment]):
            connection.execute(
                text(
                    f"INSERT INTO outbox ({columns}) VALUES "
                    "(:id, 't', 'k', 'ty', 's', :moment, '{}', :published)"
                ),
                {"id": f"e-{n}", "published": published, "moment": moment},
            )
        add_outbox_relay_columns(operations)
        add_outbox_relay_columns(operations)  # a no-op the second time (and on new outboxes)
        positions = connection.execute(text("SELECT position FROM outbox ORDER BY seq")).all()
        return kit_tables_drift(connection), [p for (p,) in positions]

    async with engine.begin() as connection:
        diff, positions = await connection.run_sync(upgrade_an_old_outbox)
    assert diff == []
    assert positions == [1, None, 3]  # published rows keep their order, below any new position
