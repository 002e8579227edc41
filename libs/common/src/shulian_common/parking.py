"""Parked outbox rows: listing them and re-queueing them (``shulian outbox parked|requeue``).

The relay parks a row the bus refuses for good (see ``outbox``); a parked row holds back the later
rows of its key until it is re-queued here, after its cause was fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.messaging import outbox
from shulian_common.outbox import as_utc
from shulian_common.uow import NOTIFY_CHANNEL


@dataclass(frozen=True, slots=True)
class ParkedRow:
    """A row the bus refused for good, as ``shulian outbox parked`` lists it."""

    seq: int
    event_id: str
    topic: str
    key: str
    type: str
    parked_at: datetime
    error: str


async def parked_rows(engine: AsyncEngine) -> list[ParkedRow]:
    """The parked rows, oldest first."""
    query = (
        select(
            outbox.c.seq,
            outbox.c.event_id,
            outbox.c.topic,
            outbox.c.key,
            outbox.c.type,
            outbox.c.parked_at,
            outbox.c.park_error,
        )
        .where(outbox.c.parked_at.is_not(None), outbox.c.published_at.is_(None))
        .order_by(outbox.c.seq)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        ParkedRow(r.seq, r.event_id, r.topic, r.key, r.type, as_utc(r.parked_at), r.park_error)
        for r in rows
    ]


async def requeue(engine: AsyncEngine, seqs: Sequence[int] | None = None) -> int:
    """Unpark the rows ``seqs`` (all parked rows when ``None``); return how many were unparked."""
    condition = and_(outbox.c.parked_at.is_not(None), outbox.c.published_at.is_(None))
    if seqs is not None:
        condition = and_(condition, outbox.c.seq.in_(list(seqs)))
    statement = update(outbox).where(condition).values(parked_at=None, park_error=None)
    async with engine.begin() as connection:
        count = (await connection.execute(statement)).rowcount
        if connection.dialect.name == "postgresql":  # wake the service's relay (uow docstring)
            await connection.execute(text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')"))
        return count
