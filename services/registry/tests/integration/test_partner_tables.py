"""Registry serves partner webhooks: its migrations create the kit's partner tables as declared."""

from __future__ import annotations

from shulian_common.db import create_engine, migrate
from shulian_common.messaging import has_partner_tables, partner_tables_drift
from shulian_registry.orm import MIGRATIONS


async def test_the_migrations_create_the_partner_tables_without_drift(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine, MIGRATIONS)
        async with engine.connect() as connection:
            present = await connection.run_sync(has_partner_tables)
            drift = await connection.run_sync(partner_tables_drift)
    finally:
        await engine.dispose()

    assert present
    assert drift == []
