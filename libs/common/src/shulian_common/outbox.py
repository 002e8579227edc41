"""The outbox relay: publishes committed outbox rows to the bus in ``seq`` order, then marks them.

Each batch reads the oldest unsent rows, publishes them in ``seq`` order and marks them published.
A crash between publishing and marking publishes the batch again (at-least-once); consumers dedupe
through their inbox. While the bus is down ``run`` backs off exponentially and the service's writes
keep succeeding, since they only append rows; the backlog drains when the bus returns.

Several relays on one PostgreSQL database: each batch runs in one transaction that first takes
``pg_try_advisory_xact_lock`` on a key derived from the table name; a relay that does not get it
publishes nothing and polls again, and the lock goes with the commit that marks the batch. So one
relay publishes at a time, a row marked by one is never read by the next, and the log gets each row
once, in ``seq`` order. We chose this over claiming with ``FOR UPDATE SKIP LOCKED``: a skip-locked
claim lets relay B publish a key's row n while relay A still holds the same key's row n-1, which
breaks per-key order unless claims are sharded by key hash, and the relay is not the bottleneck
that parallelism would relieve (see bench/relay_throughput.py). The lock is transaction-scoped,
so a relay that dies releases it with its connection. Holding it while publishing blocks no
application write: they touch other rows and take no advisory locks.

On SQLite (one relay per service database by design) rows are read without a write lock, so
publishing never holds the database's single writer lock and writes go on during a slow or failed
publish; only the short ``UPDATE`` that marks a batch takes it. Two relays racing may both publish a
batch (at-least-once). Per-key order still holds for what consumers apply: each relay reads all
unsent rows in ``seq`` order, so a row's first delivery always follows the first delivery of every
earlier row of its key, and a late second copy is a duplicate the inbox drops.

Per-key order equals ``seq`` order because the unit of work flushes a handler's writes (taking the
aggregate's row locks) before it inserts the outbox rows: two transactions on one aggregate get
their ``seq`` in the order they commit.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Row, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shulian_common.bus.base import BusError, OutgoingMessage, Publisher
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import outbox
from shulian_common.telemetry import instruments
from shulian_common.uow import SessionFactory

logger = logging.getLogger(__name__)

# Failures the relay outlives: the bus or the database is unreachable for a while.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (BusError, SQLAlchemyError, OSError)
_MARK_CHUNK = 1000  # rows per UPDATE ... IN (...), well under SQLite's bound-parameter limit
# What a bus record needs, not the bookkeeping columns.
_RECORD_COLUMNS = [
    outbox.c.seq,
    outbox.c.event_id,
    outbox.c.topic,
    outbox.c.key,
    outbox.c.type,
    outbox.c.source,
    outbox.c.subject,
    outbox.c.time,
    outbox.c.traceparent,
    outbox.c.data,
]


def relay_lock_key(table_name: str = outbox.name) -> int:
    """The PostgreSQL advisory-lock key that serialises relays of one outbox table."""
    return zlib.crc32(f"shulian.outbox.relay:{table_name}".encode())


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite returns naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def outgoing_message(row: Row[Any]) -> OutgoingMessage:
    """The binary-mode bus record of one outbox row."""
    event = CloudEvent(
        id=row.event_id,
        source=row.source,
        type=row.type,
        time=as_utc(row.time),
        subject=row.subject,
        partitionkey=row.key,
        traceparent=row.traceparent,
        data=row.data,
    )
    return OutgoingMessage(
        topic=row.topic, key=row.key, value=event.to_value(), headers=event.to_headers()
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` unless ``stop`` is set first."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class OutboxRelay:
    """Moves committed outbox rows to the bus; see the module docstring for the guarantees."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        session_factory: SessionFactory,
        publisher: Publisher,
        batch_size: int = 500,
        poll_interval: float = 0.05,
        max_backoff: float = 5.0,
    ) -> None:
        self._session_factory = session_factory
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._lock_key = relay_lock_key()
        # Counters for /readyz and logs.
        self.published = 0
        self.failures = 0

    async def run_once(self) -> int:
        """Publish one batch of unsent rows in ``seq`` order and mark it; return its size."""
        async with self._session_factory() as session, session.begin():
            if not await self._acquire(session):
                return 0
            rows = await self._unsent(session)
            if not rows:
                return 0
            await self._publisher.publish([outgoing_message(row) for row in rows])
            await self._mark(session, [row.seq for row in rows])
        self.published += len(rows)
        for topic, count in Counter(row.topic for row in rows).items():
            instruments().events_published.add(count, {"topic": topic})
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set, backing off while the bus or the database fails."""
        failed_in_row = 0
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except TRANSIENT_ERRORS as exc:
                failed_in_row += 1
                self.failures += 1
                delay = min(self._max_backoff, self._poll_interval * 2**failed_in_row)
                logger.warning(
                    "outbox relay: %s: %s; retrying in %.2fs", type(exc).__name__, exc, delay
                )
                await _wait(stop, delay)
                continue
            failed_in_row = 0
            if sent < self._batch_size:  # a full batch means more may be waiting
                await _wait(stop, self._poll_interval)

    async def backlog(self) -> int:
        """How many committed rows are not yet published."""
        query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - spans many batches
        """Relay until the backlog is empty (a test helper); ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            if await self.run_once() == 0:
                if await self.backlog() == 0:
                    return
                await asyncio.sleep(self._poll_interval)  # another relay holds the lock
            if time.monotonic() > deadline:
                raise TimeoutError(f"outbox backlog not drained within {timeout}s")

    async def _acquire(self, session: AsyncSession) -> bool:
        if not self._postgres:
            return True
        query = select(func.pg_try_advisory_xact_lock(self._lock_key))
        return bool((await session.execute(query)).scalar_one())

    async def _unsent(self, session: AsyncSession) -> Sequence[Row[Any]]:
        query = (
            select(*_RECORD_COLUMNS)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(self._batch_size)
        )
        return (await session.execute(query)).all()

    async def _mark(self, session: AsyncSession, seqs: Sequence[int]) -> None:
        # By seq list, never by range: on PostgreSQL a row with a lower seq may commit later.
        now = datetime.now(UTC)
        for chunk in self._chunks(seqs):
            await session.execute(
                update(outbox)
                .where(chunk, outbox.c.published_at.is_(None))
                .values(published_at=now)
            )

    def _chunks(self, seqs: Sequence[int]) -> list[ColumnElement[bool]]:
        if self._postgres:  # PostgreSQL: one array parameter, ``seq = ANY($1)``
            return [outbox.c.seq == any_(bindparam("seqs", list(seqs), type_=ARRAY(BigInteger)))]
        step = _MARK_CHUNK  # SQLite: bounded IN lists
        return [outbox.c.seq.in_(seqs[i : i + step]) for i in range(0, len(seqs), step)]
