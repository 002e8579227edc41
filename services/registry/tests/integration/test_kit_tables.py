"""Registry's first revision created the kit's tables before the kit existed: they must be the
tables the kit declares, column for column, so existing databases need no migration."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from shulian_common.app import runtime_of
from shulian_common.messaging import IDEMPOTENCY_KEYS, INBOX, OUTBOX, metadata
from shulian_registry.testing import Registry


def _kit_only(name: str | None, type_: str, _parent: Any) -> bool:
    return type_ != "table" or name in (OUTBOX, INBOX, IDEMPOTENCY_KEYS)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": _kit_only}
    )
    return list(compare_metadata(context, metadata))


async def test_the_migrated_kit_tables_are_the_ones_the_kit_declares(registry: Registry) -> None:
    async with runtime_of(registry.app).engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
