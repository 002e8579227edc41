"""The outbox relay: publishes committed outbox rows to the bus in ``seq`` order, then marks them.

Each batch reads the oldest unsent rows, publishes them in ``seq`` order and marks them published,
giving each a ``position``: ``max(position) + 1`` onwards in publish order, assigned in the one
``UPDATE`` that marks the batch. Positions are unique, strictly increasing in publish order and
never reused (retention never purges the row holding the highest), so they are the partner feed's
cursor. A crash between publishing and marking publishes the batch again (at-least-once);
consumers dedupe through their inbox. While the bus is down ``run`` backs off exponentially and the
service's writes keep succeeding, since they only append rows; the backlog drains when the bus
returns.

Parking. A row the bus refuses for good (``PermanentPublishError``: too large, not authorised) or
that cannot be encoded is parked: ``parked_at`` and ``park_error`` set, counted in
``shulian.outbox.parked``, listed by ``shulian outbox parked``, re-queued by ``shulian outbox
requeue``. When a batch is refused for good the relay publishes it again one row at a time to find
the poison row; rows before it are published, rows after it flow. Choice: a parked row holds back
the later rows of its own (topic, key) until it is re-queued, and only those. Per-key order is what
every consumer relies on (a replica applying version n+1 before n, or never seeing n, diverges
silently); a parked key is visible (metric, CLI) and an operator decides, whereas a reordered or
skipped event is not. Only transient errors back off.

Wake-up. ``run`` waits for the unit-of-work factory's ``events_committed`` event (same process) or,
on PostgreSQL, a ``NOTIFY shulian_outbox`` received on a dedicated ``LISTEN`` connection (other
processes), so an event reaches the bus milliseconds after its commit; ``poll_interval`` (1 s by
default) remains the fallback when a notification is lost or the listener is down. The
transaction that gives rows their positions also sends ``NOTIFY shulian_feed`` on PostgreSQL; on
its commit the relay fires ``published_pulse``, and so does every relay whose listener receives
that notification, so the partner feed's long polls and live tails, which wait on the pulse, wake
milliseconds after a publish in any process. On SQLite the relay, once that transaction commits,
sends the same news over wake-up sockets beside the database file (``notify.WakeListener``): the
feed readers of every process serving that file (``shulian serve``'s extra workers) wake too.

Several relays on one PostgreSQL database: each run (up to ``batches_per_transaction`` batches,
the next read while the bus acknowledges the last) is one transaction that first takes
``pg_try_advisory_xact_lock`` on a key derived from the table name; a relay that does not get it
publishes nothing and polls again, and the lock goes with the commit that marks the batch. So one
relay publishes at a time, a row marked by one is never read by the next, and the log gets each row
once, in ``seq`` order, with positions assigned by one relay at a time. We chose this over
claiming with ``FOR UPDATE SKIP LOCKED``: a skip-locked claim lets relay B publish a key's row n
while relay A still holds the same key's row n-1, which breaks per-key order unless claims are
sharded by key hash, and the relay is not the bottleneck that parallelism would relieve (see
bench/relay_throughput.py). The lock is transaction-scoped, so a relay that dies releases it with
its connection. Holding it while publishing blocks no application write: units of work take only
their per-key advisory locks, on other lock ids.

On SQLite (one relay per service database by design) rows are read without a write lock, so
publishing never holds the database's single writer lock and writes go on during a slow or failed
publish; only the short ``UPDATE`` that marks a batch takes it, and it computes each position as
``max + 1`` under that lock. Two relays racing may both publish a batch (at-least-once). Per-key
order still holds for what consumers apply: each relay reads all unsent rows in ``seq`` order, so a
row's first delivery always follows the first delivery of every earlier row of its key, and a late
second copy is a duplicate the inbox drops.

On SQLite the record value is the row's stored JSON text as it is (no decode and re-encode per
row): the engine stores JSON compact and UTF-8, the envelope's form. On PostgreSQL the JSONB is
decoded and encoded compact (its text form has spaces).

Per-key order equals ``seq`` order because the unit of work takes a per-(topic, key) advisory lock
before it inserts the outbox rows (see ``uow``): two transactions on one key get their ``seq`` in
the order they commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from opentelemetry.metrics import Counter as MetricCounter
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Text,
    and_,
    bindparam,
    func,
    not_,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shulian_common.bus.base import BusError, OutgoingMessage, PermanentPublishError, Publisher
from shulian_common.envelope import CONTENT_TYPE, SPECVERSION
from shulian_common.messaging import outbox
from shulian_common.notify import FEED_CHANNEL, NotifyListener, WakeListener
from shulian_common.pulse import Pulse
from shulian_common.telemetry import instruments, meter
from shulian_common.uow import NOTIFY_CHANNEL, SessionFactory

logger = logging.getLogger(__name__)

# Failures the relay outlives: the bus or the database is unreachable for a while.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (BusError, SQLAlchemyError, OSError)
# A row whose data cannot become a record (a lone surrogate in a JSON string on SQLite, …).
ENCODING_ERRORS: tuple[type[BaseException], ...] = (UnicodeError, ValueError, TypeError)
MAX_PARK_ERROR = 2000  # characters of the refusal kept with a parked row
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
]
# SQLite: the data as the stored JSON text, not decoded: the engine stores it compact and UTF-8
# (``db.create_engine``), so it is the record value byte for byte and the relay saves a decode and
# an encode per row. Not on PostgreSQL: JSONB renders as text with spaces (``{"n": 3}``), not the
# envelope's compact form, and in measurements the decode was not where the relay's time went.
_DATA_TEXT_SQLITE = type_coerce(outbox.c.data, Text).label("data")
# A \uD800-\uDFFF escape in stored text may be a lone surrogate (valid JSON, not UTF-8): such a
# row goes the decode/encode way, which refuses it (it is parked) or writes the pair as UTF-8.
_SURROGATE_ESCAPES = ("\\ud8", "\\ud9", "\\uda", "\\udb", "\\udc", "\\udd", "\\ude", "\\udf")
_SPECVERSION, _CONTENT_TYPE = SPECVERSION.encode(), CONTENT_TYPE.encode()
_BIGINTS = ARRAY(BigInteger)
# One statement marks a whole batch and numbers it in seq order, after the highest position.
_MARK_POSTGRES = text(
    "UPDATE outbox AS o SET published_at = :now, "
    "position = (SELECT coalesce(max(position), 0) FROM outbox) + t.ord "
    "FROM unnest(CAST(:seqs AS BIGINT[])) WITH ORDINALITY AS t(seq, ord) "
    "WHERE o.seq = t.seq AND o.published_at IS NULL"
)
# SQLite: the same in one statement per chunk. The uncorrelated max() runs once per statement,
# under the database's single write lock, so a racing relay cannot take the same positions.
_MARK_SQLITE = (
    "UPDATE outbox SET published_at = ?, "
    "position = (SELECT coalesce(max(position), 0) FROM outbox) + batch.column2 "
    "FROM (VALUES {rows}) AS batch WHERE outbox.seq = batch.column1 AND outbox.published_at IS NULL"
)
# Sent in the transaction that marks: feed readers in every process wake when the positions commit.
_NOTIFY_FEED = text(f"SELECT pg_notify('{FEED_CHANNEL}', '')")
_MARK_CHUNK = 1000  # rows per SQLite statement: 2 parameters each, far below SQLite's limit


def relay_lock_key(table_name: str = outbox.name) -> int:
    """The PostgreSQL advisory-lock key that serialises relays of one outbox table."""
    return zlib.crc32(f"shulian.outbox.relay:{table_name}".encode())


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite returns naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def outgoing_message(row: Row[Any]) -> OutgoingMessage:
    """The binary-mode bus record of one outbox row (``CloudEvent.to_headers``/``to_value``)."""
    # Built straight from the row, not through a CloudEvent: the unit of work validated the event
    # before writing it, and this is the relay's hottest loop. A test holds it to the envelope's.
    headers = [
        ("ce_id", row.event_id.encode()),
        ("ce_source", row.source.encode()),
        ("ce_type", row.type.encode()),
        ("ce_specversion", _SPECVERSION),
        ("ce_time", as_utc(row.time).isoformat().encode()),
        ("ce_partitionkey", row.key.encode()),
        ("content-type", _CONTENT_TYPE),
    ]
    if row.subject is not None:
        headers.append(("ce_subject", row.subject.encode()))
    if row.traceparent:
        headers.append(("traceparent", row.traceparent.encode()))
    return OutgoingMessage(topic=row.topic, key=row.key, value=_value(row.data), headers=headers)


def _value(data: Any) -> bytes:
    """The record value: stored JSON text as it is (see ``_DATA_TEXT_*``), else encoded."""
    if isinstance(data, str):
        if "\\u" not in data or not any(e in data.lower() for e in _SURROGATE_ESCAPES):
            return data.encode()  # strict UTF-8: a lone surrogate character raises, and parks
        data = json.loads(data)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


@cache
def parked_counter() -> MetricCounter:
    """``shulian.outbox.parked``: rows the relay parked, by topic."""
    return meter().create_counter(
        "shulian.outbox.parked", unit="{event}", description="outbox rows the bus refused for good"
    )


_UNSENT = and_(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
# The first parked row of each (topic, key): the partial index finds them without a scan.
_PARKED_KEYS = (
    select(outbox.c.topic, outbox.c.key, func.min(outbox.c.seq))
    .where(outbox.c.parked_at.is_not(None), outbox.c.published_at.is_(None))
    .group_by(outbox.c.topic, outbox.c.key)
)


ParkedKeys = list[tuple[str, str, int]]  # (topic, key, seq of its first parked row)


async def _read_parked_keys(session: AsyncSession | AsyncConnection) -> ParkedKeys:
    return [(topic, key, seq) for topic, key, seq in (await session.execute(_PARKED_KEYS)).all()]


def _sendable(parked: ParkedKeys) -> ColumnElement[bool]:
    """Unsent rows not parked and not behind a ``parked`` row of their key (module docstring)."""
    if not parked:  # the usual case: a plain scan of the unsent index, in seq order
        return _UNSENT
    held = or_(
        *(
            and_(outbox.c.topic == topic, outbox.c.key == key, outbox.c.seq > seq)
            for topic, key, seq in parked
        )
    )
    return and_(_UNSENT, not_(held))


@dataclass
class _Outcome:
    """What publishing one batch did: rows accepted, rows parked, a transient error that cut it."""

    published: list[Row[Any]] = field(default_factory=list)
    parked: list[tuple[Row[Any], BaseException]] = field(default_factory=list)
    error: BaseException | None = None
    held: set[tuple[str, str]] = field(default_factory=set)

    def park(self, row: Row[Any], error: BaseException) -> None:
        """Park ``row`` and hold back the later rows of its key in this batch."""
        self.parked.append((row, error))
        self.held.add((row.topic, row.key))

    def is_held(self, row: Row[Any]) -> bool:
        """Whether an earlier row of ``row``'s key was parked in this batch."""
        return (row.topic, row.key) in self.held


def sqlite_file(engine: AsyncEngine) -> Path | None:
    """The file of a SQLite database (``None`` on PostgreSQL or for one in memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI filename: its path, without the query
        database = database.removeprefix("file:").split("?", 1)[0]
        if not database or database == ":memory:":
            return None
    return Path(database)


class OutboxRelay:
    """Moves committed outbox rows to the bus; see the module docstring for the guarantees."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        session_factory: SessionFactory,
        publisher: Publisher,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        retry_interval: float = 0.05,
        max_backoff: float = 5.0,
        wake: asyncio.Event | None = None,
        listen: bool = True,
        linger: float = 0.002,
        batches_per_transaction: int = 4,
    ) -> None:
        self._session_factory = session_factory
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retry_interval = retry_interval
        self._max_backoff = max_backoff
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._lock_key = relay_lock_key()
        self._wake = wake if wake is not None else asyncio.Event()
        # Fired after each commit that gave rows a position: the partner feed's readers wake on it.
        self.published_pulse = Pulse()
        self._listener: NotifyListener | WakeListener | None = None
        database = sqlite_file(engine)
        # SQLite: the sockets on which relays announce positions to every process on the file.
        self._feed_sockets = (
            WakeListener(database, {FEED_CHANNEL: self.published_pulse.fire})
            if database is not None
            else None
        )
        if listen and self._postgres:
            self._listener = NotifyListener(
                engine, {NOTIFY_CHANNEL: self._wake.set, FEED_CHANNEL: self.published_pulse.fire}
            )
        elif listen:
            self._listener = self._feed_sockets
        self._linger = linger
        self._batches_per_transaction = max(1, batches_per_transaction)
        self._parked_cache: tuple[float, ParkedKeys] | None = None
        # Counters for /readyz and logs.
        self.published = 0
        self.parked = 0
        self.failures = 0

    @property
    def listening(self) -> bool:
        """Whether other processes' commits reach this one (PostgreSQL's ``LISTEN`` connection is
        open, or on SQLite the feed's wake-up socket is bound)."""
        return self._listener is not None and self._listener.listening

    async def listen_for_feed(self) -> None:
        """On SQLite, bind the feed's wake-up socket unless bound: for a process that serves the
        feed without running this relay (``shulian serve``'s extra workers), whose readers are
        then woken by the running relay's ``notify`` instead of polling every second."""
        if isinstance(self._listener, WakeListener):
            await self._listener.ensure()

    async def close_listener(self) -> None:
        """Close the listener (``run`` does so when it ends; this is for ``listen_for_feed``)."""
        if self._listener is not None:
            await self._listener.close()

    def wake(self) -> None:
        """Publish now rather than at the next poll."""
        self._wake.set()

    async def run_once(self, batches: int = 1) -> int:
        """Publish up to ``batches`` batches of unsent rows in ``seq`` order in one transaction;
        return how many rows went (sent or parked).

        On PostgreSQL, while one batch is being published the next is read (the rows after it,
        not yet marked), so the database's read overlaps the bus's acknowledgement; the batches
        go in one transaction, under one relay lock, and their marks become visible together.
        SQLite relays one batch per transaction whatever ``batches`` says: its marks take the
        single write lock, which must not be held while publishing. A batch that parks a row, or
        comes back short, ends the run. Rows published before a transient failure are marked,
        then the failure is raised.
        """
        if not self._postgres:
            batches = 1
        outcomes: list[_Outcome] = []
        async with self._session_factory() as session, session.begin():
            if not await self._acquire(session):
                return 0
            rows = await self._unsent(session)
            for remaining in range(batches - 1, -1, -1):
                if not rows:
                    break
                publishing = self._publish(rows)
                if remaining and len(rows) == self._batch_size:
                    after = [row.seq for row in rows]
                    outcome, rows = await asyncio.gather(publishing, self._unsent(session, after))
                else:
                    outcome, rows = await publishing, []
                await self._mark(session, [row.seq for row in outcome.published])
                await self._park(session, outcome.parked)
                outcomes.append(outcome)
                # Rows read ahead may be held behind a row parked now; stop at an error too.
                if outcome.parked or outcome.error is not None:
                    break
            if self._postgres and any(outcome.published for outcome in outcomes):
                await session.execute(_NOTIFY_FEED)  # delivered to listeners with the commit
        # Committed: only now count (a failed commit publishes the run again, counted then).
        if any(outcome.published for outcome in outcomes):
            self.published_pulse.fire()  # positions are committed: the partner feed may look
            if self._feed_sockets is not None:
                self._feed_sockets.notify(FEED_CHANNEL)  # and so may other processes' (SQLite)
        for outcome in outcomes:
            self._count(outcome)
            if outcome.parked:
                self._parked_cache = None
            if outcome.error is not None:
                raise outcome.error
        return sum(len(o.published) + len(o.parked) for o in outcomes)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set, backing off while the bus or the database fails."""
        failed_in_row = 0
        try:
            while not stop.is_set():
                if self._listener is not None:
                    await self._listener.ensure()
                self._wake.clear()  # a commit from here on wakes the next wait
                try:
                    sent = await self.run_once(self._batches_per_transaction)
                except TRANSIENT_ERRORS as exc:
                    failed_in_row += 1
                    await self._back_off(stop, exc, failed_in_row)
                    continue
                failed_in_row = 0
                if sent % self._batch_size or not sent:  # full batches: more may be waiting
                    await self._sleep(stop)
        finally:
            if self._listener is not None:
                await self._listener.close()

    async def _back_off(self, stop: asyncio.Event, exc: BaseException, failed_in_row: int) -> None:
        self.failures += 1
        delay = min(self._max_backoff, self._retry_interval * 2**failed_in_row)
        logger.warning("outbox relay: %s: %s; retrying in %.2fs", type(exc).__name__, exc, delay)
        await _wait(stop, delay)

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until a commit wakes the relay, ``stop`` is set or ``poll_interval`` passes."""
        if self._wake.is_set() or stop.is_set():
            return
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._wake, stop)]
        try:
            await asyncio.wait(waiters, timeout=self._poll_interval, return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self._wake.is_set() and not stop.is_set():
            # Like a producer's linger: commits arriving together go out in one batch.
            await asyncio.sleep(self._linger)

    async def backlog(self) -> int:
        """How many committed rows wait to be published (parked rows excluded)."""
        query = (
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
        )
        async with self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def sendable(self) -> int:
        """How many unsent rows could be published now (not parked, not held behind one)."""
        async with self._engine.connect() as connection:
            parked = await _read_parked_keys(connection)
            query = select(func.count()).select_from(outbox).where(_sendable(parked))
            return int((await connection.execute(query)).scalar_one())

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - spans many batches
        """Relay until nothing is sendable (a test helper); ``TimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            if await self.run_once(self._batches_per_transaction) == 0:
                if await self.sendable() == 0:
                    return
                await asyncio.sleep(self._retry_interval)  # another relay holds the lock
            if time.monotonic() > deadline:
                raise TimeoutError(f"outbox backlog not drained within {timeout}s")

    async def _acquire(self, session: AsyncSession) -> bool:
        if not self._postgres:
            return True
        query = select(func.pg_try_advisory_xact_lock(self._lock_key))
        return bool((await session.execute(query)).scalar_one())

    async def _unsent(
        self, session: AsyncSession, besides: Sequence[int] = ()
    ) -> Sequence[Row[Any]]:
        """The next batch of sendable rows, leaving out ``besides`` (being published, unmarked)."""
        parked = await self._parked_keys(session)
        columns = [*_RECORD_COLUMNS, outbox.c.data if self._postgres else _DATA_TEXT_SQLITE]
        query = select(*columns).where(_sendable(parked)).order_by(outbox.c.seq)
        if besides:  # not by range: a row below them may have committed since (per-key order)
            query = query.where(outbox.c.seq != func.all(bindparam("besides", besides, _BIGINTS)))
        return (await session.execute(query.limit(self._batch_size))).all()

    async def _parked_keys(self, session: AsyncSession) -> ParkedKeys:
        # Read at most once per poll interval (a round trip saved per batch): the relay forgets
        # the cache when it parks a row itself, and a re-queue takes effect within the interval.
        now, cache = time.monotonic(), self._parked_cache
        if cache is None or now - cache[0] > self._poll_interval:
            cache = self._parked_cache = (now, await _read_parked_keys(session))
        return cache[1]

    async def _publish(self, rows: Sequence[Row[Any]]) -> _Outcome:
        outcome = _Outcome()
        batch: list[tuple[Row[Any], OutgoingMessage]] = []
        for row in rows:
            if outcome.is_held(row):  # per-key order: nothing after a parked row of its key
                continue
            try:
                batch.append((row, outgoing_message(row)))
            except ENCODING_ERRORS as exc:
                outcome.park(row, exc)
        try:
            await self._publisher.publish([message for _, message in batch])
        except PermanentPublishError:
            await self._publish_one_by_one(batch, outcome)
        except (BusError, OSError) as exc:
            outcome.error = exc
        else:
            outcome.published = [row for row, _ in batch]
        return outcome

    async def _publish_one_by_one(
        self, batch: Sequence[tuple[Row[Any], OutgoingMessage]], outcome: _Outcome
    ) -> None:
        """Find the poison rows of a refused batch: publish each alone, park the refused."""
        for row, message in batch:
            if outcome.is_held(row):
                continue
            try:
                await self._publisher.publish([message])
            except PermanentPublishError as exc:
                outcome.park(row, exc)
            except (BusError, OSError) as exc:
                outcome.error = exc
                return
            else:
                outcome.published.append(row)

    async def _mark(self, session: AsyncSession, seqs: Sequence[int]) -> None:
        # By seq list, never by range: on PostgreSQL a row with a lower seq may commit later.
        if not seqs:
            return
        now = datetime.now(UTC)
        if self._postgres:
            statement = _MARK_POSTGRES.bindparams(bindparam("seqs", type_=_BIGINTS))
            await session.execute(statement, {"now": now, "seqs": list(seqs)})
            return
        connection = await session.connection()
        for start in range(0, len(seqs), _MARK_CHUNK):
            chunk = seqs[start : start + _MARK_CHUNK]
            marks = _MARK_SQLITE.format(rows=", ".join(["(?, ?)"] * len(chunk)))
            # Positions 1..n after the current highest, in seq (= publish) order.
            ranks = (value for rank, seq in enumerate(chunk, 1) for value in (seq, rank))
            # Stored as SQLAlchemy stores a DateTime on SQLite: naive UTC text.
            await connection.exec_driver_sql(marks, (now.strftime("%Y-%m-%d %H:%M:%S.%f"), *ranks))

    async def _park(
        self, session: AsyncSession, parked: Sequence[tuple[Row[Any], BaseException]]
    ) -> None:
        now = datetime.now(UTC)
        for row, error in parked:
            logger.error(
                "outbox relay: parked seq %s (%s): %s", row.seq, row.topic, type(error).__name__
            )
            await session.execute(
                update(outbox)
                .where(outbox.c.seq == row.seq)
                .values(parked_at=now, park_error=_error_text(error))
            )

    def _count(self, outcome: _Outcome) -> None:
        self.published += len(outcome.published)
        self.parked += len(outcome.parked)
        for topic, count in Counter(row.topic for row in outcome.published).items():
            instruments().events_published.add(count, {"topic": topic})
        for topic, count in Counter(row.topic for row, _ in outcome.parked).items():
            parked_counter().add(count, {"topic": topic})


def _error_text(error: BaseException) -> str:
    """The refusal as ``Type: message`` with its cause, truncated; names no record content."""
    text_ = f"{type(error).__name__}: {error}"
    if error.__cause__ is not None:
        text_ += f" (caused by {type(error.__cause__).__name__}: {error.__cause__})"
    return text_[:MAX_PARK_ERROR]


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` unless ``stop`` is set first."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
