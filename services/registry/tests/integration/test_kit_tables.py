"""Registry's first revision created the kit's tables before the kit existed: they must be the
tables the kit declares, column for column, so existing databases need no migration."""

from __future__ import annotations

from shulian_common.app import runtime_of
from shulian_common.messaging import kit_tables_drift
from shulian_registry.testing import Registry


async def test_the_migrated_kit_tables_are_the_ones_the_kit_declares(registry: Registry) -> None:
    async with runtime_of(registry.app).engine.connect() as connection:
        assert await connection.run_sync(kit_tables_drift) == []
