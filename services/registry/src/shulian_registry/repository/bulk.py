"""The bulk path: many rows at once, bypassing the ORM (benchmarks, large demo loads)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shulian_common.db import binary_json
from shulian_registry import orm

# Rows per INSERT statement on SQLite: well under its 32766 bound-parameter limit.
_BULK_CHUNK = 2000


async def bulk_insert(
    session: AsyncSession, model: type[orm.Base], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert many rows bypassing the ORM unit of work: COPY on PostgreSQL, multi-row INSERTs
    elsewhere."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await _copy(connection, model.__table__, rows)
        return
    for start in range(0, len(rows), _BULK_CHUNK):
        await session.execute(insert(model), list(rows[start : start + _BULK_CHUNK]))


async def _copy(connection: AsyncConnection, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    columns = [column.name for column in table.columns]
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    records = [
        tuple(
            json.dumps(row[c], ensure_ascii=False) if c in json_columns else row[c] for c in columns
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    async with binary_json(driver):  # binary COPY needs the binary JSON codecs
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
