"""Retention: purge published outbox rows, inbox rows and idempotency keys past a configured age.

Deletes go in small batches, one short transaction each, with a pause between them, so a purge of a
large backlog never holds SQLite's single write lock (or many PostgreSQL row locks) for long and
writes interleave with it. What is kept, and why:

- parked and unsent outbox rows, whatever their age: they are still owed to the bus;
- the published outbox row with the highest ``position``: the relay numbers the next row after it,
  so keeping it is what makes positions (the partner feed's cursor) never reused, on SQLite too;
- inbox rows younger than the age: a redelivery older than that is not expected (brokers keep
  records for days; set the age above the bus's retention and replay window).

Idempotency keys older than the age go too: a client retrying a create a week later gets a new
create, which is what the key's documented lifetime says.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import TableClause

from shulian_common.messaging import idempotency_keys, inbox, outbox

logger = logging.getLogger(__name__)

BATCH_PAUSE = 0.01  # seconds between batches: writers get the database between them


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows one purge removed, per table."""

    outbox: int
    inbox: int
    idempotency_keys: int


async def purge(
    engine: AsyncEngine,
    *,
    older_than: timedelta,
    batch_size: int = 500,
    now: datetime | None = None,
) -> Purged:
    """Delete what retention allows (module docstring), ``batch_size`` rows per transaction."""
    cutoff = (now or datetime.now(UTC)) - older_than
    outbox_count = await _purge_outbox(engine, cutoff, batch_size)
    inbox_count = await _purge_by_time(engine, inbox, inbox.c.processed_at, cutoff, batch_size)
    keys = idempotency_keys
    keys_count = await _purge_by_time(engine, keys, keys.c.created_at, cutoff, batch_size)
    return Purged(outbox_count, inbox_count, keys_count)


async def _purge_outbox(engine: AsyncEngine, cutoff: datetime, batch_size: int) -> int:
    newest = select(func.max(outbox.c.position)).scalar_subquery()
    batch = (
        select(outbox.c.seq)
        .where(
            outbox.c.published_at.is_not(None),
            outbox.c.published_at < cutoff,
            outbox.c.parked_at.is_(None),
            outbox.c.position < newest,
        )
        .order_by(outbox.c.seq)  # the primary key: old rows first, found without a full scan
        .limit(batch_size)
    )
    statement = delete(outbox).where(outbox.c.seq.in_(batch.scalar_subquery()))
    return await _in_batches(engine, statement, batch_size)


async def _purge_by_time(
    engine: AsyncEngine,
    target: TableClause,
    moment: ColumnElement[Any],
    cutoff: datetime,
    batch_size: int,
) -> int:
    """Delete rows whose ``moment`` is before ``cutoff``, ``batch_size`` at a time."""
    # The physical row id picks a batch on any table, whatever its key (ties in time included).
    row_id: ColumnElement[Any] = literal_column(
        "ctid" if engine.dialect.name == "postgresql" else "rowid"
    )
    batch = select(row_id).select_from(target).where(moment < cutoff).limit(batch_size)
    statement = delete(target).where(row_id.in_(batch.scalar_subquery()))
    return await _in_batches(engine, statement, batch_size)


async def _in_batches(engine: AsyncEngine, statement: Any, batch_size: int) -> int:
    removed = 0
    while True:
        async with engine.begin() as connection:
            count = (await connection.execute(statement)).rowcount
        removed += count
        if count < batch_size:
            return removed
        await asyncio.sleep(BATCH_PAUSE)


async def run_retention(
    engine: AsyncEngine,
    stop: asyncio.Event,
    *,
    older_than: timedelta,
    interval: float,
    batch_size: int = 500,
) -> None:
    """Purge now, then every ``interval`` seconds, until ``stop`` is set."""
    while not stop.is_set():
        purged = await purge(engine, older_than=older_than, batch_size=batch_size)
        if any(_counts(purged)):
            logger.info(
                "retention purged %s outbox, %s inbox, %s idempotency rows", *_counts(purged)
            )
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            continue


def _counts(purged: Purged) -> Sequence[int]:
    return (purged.outbox, purged.inbox, purged.idempotency_keys)
