"""The kit's tables as migrations create them match the tables the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.messaging import (
    IDEMPOTENCY_KEYS,
    INBOX,
    OUTBOX,
    UNSENT_INDEX,
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
