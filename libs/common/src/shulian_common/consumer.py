"""The inbox-backed consumer: effectively-once handling on top of at-least-once delivery.

Per record: decode the CloudEvent; open a unit of work; insert ``(consumer, source, id)`` into the
inbox (already there: a duplicate, nothing to do); call the handler; commit the inbox row, the
handler's writes and the events it recorded in ONE transaction. Offsets are committed only after the
database commits of the records they cover, so a crash in between redelivers records whose effects
are already in the database, and the inbox turns them into no-ops.

Poison records never block a partition: an undecodable record, one whose data fails the
consumer's reader model and an untrusted one (its source node is not the aggregate's owner, or does
not govern the aggregate's division: see ``trust``) go to ``{topic}.DLT`` at once; a handler that
keeps raising goes there after ``max_retries`` attempts.
A record waiting for its next attempt holds up only its own partition: the partition is paused
and rewound to that record, and the runner goes on with the others until the backoff is over.
Infrastructure failures (the bus or the database unreachable, a pool checkout timing out) are
not the record's fault: they rewind to the committed offsets and ``run`` backs off, so nothing
is dead-lettered for them.

Up to ``batch_size`` consecutive records of one partition are applied in one transaction (one
inbox insert for all; a handler's ``prepare`` reads in bulk what they need); if that transaction
fails, its records are applied one by one, so a poison record goes to the DLT alone and the
others are applied exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from typing import Any, Self

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind
from pydantic import BaseModel
from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.bus.base import (
    Bus,
    BusError,
    MissingTopicError,
    Publisher,
    Record,
    Subscriber,
    TopicPartition,
    dlt_topic,
)
from shulian_common.catalogue import EventDataError, check_event_type, topic_service
from shulian_common.dead_letters import dead_letter, error_text
from shulian_common.envelope import CloudEvent, EnvelopeError
from shulian_common.infrastructure import is_infrastructure_error
from shulian_common.messaging import inbox
from shulian_common.readers import Reads
from shulian_common.retry_schedule import RetrySchedule
from shulian_common.telemetry import instruments, set_consumer_lag
from shulian_common.trust import UntrustedEventError
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[UnitOfWork, CloudEvent, BaseModel], Awaitable[None]]

LAG_INTERVAL = 5.0  # seconds between lag readings: each costs the bus a round trip
MAX_BACKOFF = 5.0  # seconds: the longest wait between attempts, of a record or of the runner


@dataclass(frozen=True)
class Subscription:
    """Handlers of one topic, by CloudEvents type; other types on the topic are skipped.

    Each handler comes with the consumer's own reader model of that type (``Reads``): the data is
    validated with it, not with the producer's model, which this process need not even import.
    """

    topic: str
    handlers: Mapping[str, Reads[Any]]

    def __post_init__(self) -> None:
        topic_service(self.topic)  # refuses a malformed topic
        for event_type in self.handlers:
            check_event_type(event_type)


@dataclass(frozen=True, slots=True)
class _Work:
    """A decoded, trusted record this consumer has a handler for."""

    record: Record
    event: CloudEvent
    data: BaseModel
    handler: Reads[Any]


class _Skip:
    """A record of a type this consumer does not read: skipped, its offset advances."""


_SKIP = _Skip()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` unless ``stop`` is set first."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _inbox_insert(session: AsyncSession) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` on the inbox, for this session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(inbox).on_conflict_do_nothing()
    return sqlite.insert(inbox).on_conflict_do_nothing()


def _by_partition(records: Sequence[Record]) -> dict[TopicPartition, list[Record]]:
    """Records grouped per partition, each group in log order."""
    groups: dict[TopicPartition, list[Record]] = {}
    for record in records:
        groups.setdefault(record.tp, []).append(record)
    return groups


class ConsumerRunner:
    """One consumer (``name`` is its inbox id and its group id) over a set of subscriptions."""

    def __init__(
        self,
        *,
        name: str,
        bus: Bus,
        uow_factory: UnitOfWorkFactory,
        subscriptions: Sequence[Subscription],
        publisher: Publisher,
        max_retries: int = 3,
        retry_backoff: float = 0.2,
        batch_size: int = 1,
        lag_interval: float = LAG_INTERVAL,
    ) -> None:
        self.name = name
        self._bus = bus
        self._uow_factory = uow_factory
        self._publisher = publisher
        self._max_retries = max(1, max_retries)
        self._retry_backoff = retry_backoff
        self._batch_size = max(1, batch_size)
        self._lag_interval = lag_interval
        self._lag_read_at: float | None = None
        self._handlers = self._index(subscriptions)
        self._subscriber: Subscriber | None = None
        # A partition held up by a failed record stays paused until the record's next attempt.
        self._retries = RetrySchedule(backoff=retry_backoff, max_backoff=MAX_BACKOFF)
        # Counters for /readyz and logs.
        self.processed = 0
        self.duplicates = 0
        self.skipped = 0
        self.dead_lettered = 0
        self.failed_attempts = 0
        self.infrastructure_errors = 0
        self.missing_topics: set[str] = set()  # found gone from the broker, not yet recreated
        self.lag: dict[TopicPartition, int] = {}  # the last reading, per owned partition

    def _index(self, subscriptions: Sequence[Subscription]) -> dict[str, dict[str, Reads[Any]]]:
        handlers: dict[str, dict[str, Reads[Any]]] = {}
        for sub in subscriptions:
            topic = handlers.setdefault(sub.topic, {})
            for event_type, handler in sub.handlers.items():
                if event_type in topic:
                    raise ValueError(f"two handlers for {event_type} on {sub.topic}")
                topic[event_type] = handler
        return handlers

    @property
    def topics(self) -> list[str]:
        """The subscribed topics."""
        return sorted(self._handlers)

    def stats(self) -> dict[str, int]:
        """The counters and the last total lag, for ``/readyz`` and logs."""
        return {
            "processed": self.processed,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "dead_lettered": self.dead_lettered,
            "failed_attempts": self.failed_attempts,
            "infrastructure_errors": self.infrastructure_errors,
            "retrying_partitions": self._retries.deferred,
            "missing_topics": len(self.missing_topics),
            "lag": sum(self.lag.values()),
        }

    async def start(self) -> None:
        """Create the topics and their DLTs if needed, and join the group."""
        if self._subscriber is not None:
            return
        await self._bus.ensure_topics([*self.topics, *(dlt_topic(t) for t in self.topics)])
        subscriber = self._bus.subscriber(
            topics=self.topics, group_id=self.name, client_id=self.name
        )
        await subscriber.start()
        self._subscriber = subscriber
        if self.missing_topics:
            logger.warning("consumer %s: recreated %s", self.name, sorted(self.missing_topics))
            self.missing_topics.clear()

    async def stop(self) -> None:
        """Leave the group (offsets were already committed after each poll)."""
        subscriber, self._subscriber = self._subscriber, None
        self._retries.release_all()
        if subscriber is not None:
            await subscriber.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run(self, stop: asyncio.Event, *, poll_timeout: float = 0.5) -> None:
        """Consume until ``stop`` is set, backing off while the bus or the database fails."""
        failed_in_row = 0
        try:
            while not stop.is_set():
                try:
                    await self.start()  # a no-op, unless a failed rewind dropped the member
                    await self.run_once(timeout=poll_timeout)
                    if self.missing_topics:  # seen by the lag reading: leave, then recreate
                        raise MissingTopicError(sorted(self.missing_topics))
                    failed_in_row = 0
                except Exception as exc:
                    if not is_infrastructure_error(exc):
                        raise
                    if isinstance(exc, MissingTopicError):
                        await self._lost(exc.topics)
                    failed_in_row += 1
                    self.infrastructure_errors += 1
                    delay = min(MAX_BACKOFF, self._retry_backoff * 2**failed_in_row)
                    logger.warning(
                        "consumer %s: %s; retrying in %.2fs", self.name, error_text(exc), delay
                    )
                    await _wait(stop, delay)
        finally:
            await self.stop()

    async def run_once(self, timeout: float = 1.0) -> int:  # noqa: ASYNC109 - the poll's own wait
        """Poll once and handle what came; return how many records were disposed of."""
        subscriber = self._require_started()
        await self._resume_due(subscriber)
        records = await subscriber.poll(timeout=self._retries.wait(timeout))
        done: dict[TopicPartition, int] = {}
        handled = 0
        try:
            for tp, partition_records in _by_partition(records).items():
                if self._retries.is_deferred(tp):  # polled before the pause: read on resuming
                    continue
                disposed = await self._handle_partition(subscriber, partition_records)
                if disposed:
                    done[tp] = partition_records[disposed - 1].offset + 1
                    handled += disposed
        except Exception:
            # Records after the failure were polled but not applied: read them again. (A crash or
            # a cancellation skips this, like a killed process: redelivery covers it.)
            await self._commit_and_rewind(subscriber, done)
            raise
        if done:
            await subscriber.commit(done)
        await self._report_lag(subscriber)
        return handled

    async def drain(
        self,
        *,
        until: Callable[[], bool] | None = None,
        idle_polls: int = 2,
        poll_timeout: float = 0.1,
        timeout: float = 30.0,  # noqa: ASYNC109 - a deadline across many polls
    ) -> int:
        """Poll until ``until()`` holds, else until ``idle_polls`` assigned polls come empty."""
        await self.start()
        subscriber = self._require_started()
        deadline = time.monotonic() + timeout
        handled = idle = 0
        while not (until() if until else idle >= idle_polls):
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumer {self.name} did not drain within {timeout}s")
            count = await self.run_once(timeout=poll_timeout)
            handled += count
            # A partition waiting to retry a record is not idle, whatever the polls return.
            quiet = count == 0 and subscriber.assignment() and not self._retries.deferred
            idle = idle + 1 if quiet else 0
            if until is None and idle >= idle_polls and await self._behind(subscriber):
                idle = 0  # empty polls, yet records wait at the log's end: a slow fetch
        return handled

    async def _behind(self, subscriber: Subscriber) -> bool:
        """Whether any assigned partition has records past this member's position (a broker
        under load can answer a fetch empty while its log already holds more)."""
        try:
            return any((await subscriber.lag()).values())
        except BusError:
            return False  # the log's end is unknown: the polls' verdict stands

    async def _lost(self, topics: Sequence[str]) -> None:
        """Leave the group, so that the next ``start`` recreates ``topics`` (or keeps failing)."""
        self.missing_topics.update(topics)
        with suppress(BusError):
            await self.stop()

    async def _resume_due(self, subscriber: Subscriber) -> None:
        """Rewind held-up partitions whose backoff is over to their failed record; resume them."""
        due = self._retries.take_due()
        if due:
            await subscriber.seek_to_committed(due)
            subscriber.resume(due)

    async def _report_lag(self, subscriber: Subscriber) -> None:
        """Read the lag and report it per partition, at most once every ``lag_interval``."""
        now = time.monotonic()
        if self._lag_read_at is not None and now - self._lag_read_at < self._lag_interval:
            return
        self._lag_read_at = now
        try:
            self.lag = await subscriber.lag()
        except MissingTopicError as exc:
            self.missing_topics.update(exc.topics)
            return
        except Exception as exc:  # a metric must never stop consumption
            logger.debug("consumer %s: lag not read: %r", self.name, exc)
            return
        for tp, lag in self.lag.items():
            set_consumer_lag(group=self.name, topic=tp.topic, partition=tp.partition, lag=lag)

    def _require_started(self) -> Subscriber:
        if self._subscriber is None:
            raise RuntimeError(f"consumer {self.name} is not started")
        return self._subscriber

    async def _commit_and_rewind(
        self, subscriber: Subscriber, done: dict[TopicPartition, int]
    ) -> None:
        try:
            if done:
                await subscriber.commit(done)
            await subscriber.seek_to_committed(sorted(subscriber.assignment(), key=_tp_order))
        except BusError as exc:
            # Polling on from past the failed records would skip them: leave the group instead,
            # so the member that rejoins starts from the committed offsets.
            logger.warning("consumer %s: rewind failed (%s); rejoining", self.name, exc)
            self._subscriber = None
            self._retries.release_all()
            with suppress(BusError):
                await subscriber.stop()

    async def _handle_partition(self, subscriber: Subscriber, records: Sequence[Record]) -> int:
        """Dispose of one partition's records in order, up to one to retry later; count them."""
        disposed = 0
        for chunk in self._chunks(records):
            count = await self._handle_chunk(chunk)
            disposed += count
            if count < len(chunk):
                self._retries.defer(chunk[count])
                subscriber.pause([chunk[count].tp])
                break
        return disposed

    def _chunks(self, records: Sequence[Record]) -> list[list[Record]]:
        """Runs of up to ``batch_size`` records; a record that failed before goes alone."""
        chunks: list[list[Record]] = []
        for record in records:
            last = chunks[-1] if chunks else []
            joins = 0 < len(last) < self._batch_size
            if joins and not self._retries.failure(last[0]) and not self._retries.failure(record):
                last.append(record)
            else:
                chunks.append([record])
        return chunks

    async def _handle_chunk(self, chunk: Sequence[Record]) -> int:
        """Dispose of ``chunk`` in order; return how many records were disposed of."""
        if len(chunk) > 1 and await self._apply_batch(chunk):
            return len(chunk)
        for count, record in enumerate(chunk):
            if not await self._handle(record):
                return count
        return len(chunk)

    async def _apply_batch(self, chunk: Sequence[Record]) -> bool:
        """Apply the records of ``chunk`` in one transaction; ``False`` if a handler failed."""
        verdicts = [self._classify(record) for record in chunk]
        work = [v for v in verdicts if isinstance(v, _Work)]
        try:
            await self._apply(work)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            logger.info(
                "consumer %s: a batch of %d failed (%s); applying one by one",
                self.name,
                len(chunk),
                error_text(exc),
            )
            return False
        for record, verdict in zip(chunk, verdicts, strict=True):
            if isinstance(verdict, _Skip):
                self.skipped += 1
            elif isinstance(verdict, Exception):
                await self._dead_letter(record, verdict)
        return True

    async def _handle(self, record: Record) -> bool:
        """Apply, skip or dead-letter one record; ``False`` when it is to be retried later.

        Raises only for infrastructure failures.
        """
        verdict = self._classify(record)
        if isinstance(verdict, _Work):
            return await self._attempt(verdict)
        if isinstance(verdict, Exception):
            await self._dead_letter(record, verdict)
        else:
            self.skipped += 1
        return True

    def _classify(self, record: Record) -> _Work | Exception | _Skip:
        """Decode and check ``record``: work to apply, the error that makes it poison, or a skip."""
        try:
            event = CloudEvent.from_record(record.headers, record.value, record.key)
        except EnvelopeError as exc:
            return exc
        handler = self._handlers.get(record.topic, {}).get(event.type)
        if handler is None:  # a type this consumer does not read: skip, the offset advances
            return _SKIP
        try:
            data = handler.parse(event)
            handler.trust(event)
        except (EventDataError, UntrustedEventError) as exc:
            return exc
        return _Work(record, event, data, handler)

    async def _attempt(self, work: _Work) -> bool:
        """One attempt at ``work``; ``False`` when it failed and has attempts left."""
        failure = self._retries.failure(work.record)
        if failure is not None and failure.attempts >= self._max_retries:
            # Its attempts were used up but the dead letter was not written (the bus failed).
            await self._dead_letter(work.record, failure.error)
            self._retries.forget(work.record)
            return True
        try:
            await self._apply([work])
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            return await self._failed(work, exc)
        self._retries.forget(work.record)
        return True

    async def _failed(self, work: _Work, exc: Exception) -> bool:
        """Count a failed attempt; dead-letter the record once it has none left."""
        attempts = self._retries.failed(work.record, exc)
        self.failed_attempts += 1
        logger.warning(
            "consumer %s: %s %s failed (attempt %d/%d): %s",
            self.name,
            work.event.type,
            work.event.id,
            attempts,
            self._max_retries,
            error_text(exc),
        )
        if attempts < self._max_retries:
            return False
        await self._dead_letter(work.record, exc)
        self._retries.forget(work.record)
        return True

    async def _apply(self, work: Sequence[_Work]) -> None:
        """Inbox rows, handlers and commit of every item of ``work``, in one transaction."""
        if not work:
            return
        async with self._uow_factory() as uow:
            fresh = await self._claim(uow.session, work)
            await self._prepare(uow, fresh)
            for item in fresh:
                with self._span(item.record, item.event):
                    await item.handler.handle(uow, item.event, item.data)
            await uow.commit()
        self.processed += len(fresh)
        self.duplicates += len(work) - len(fresh)

    @staticmethod
    async def _prepare(uow: UnitOfWork, fresh: Sequence[_Work]) -> None:
        """Hand each handler with a ``prepare`` the data of its records in this transaction."""
        batches: dict[int, tuple[Reads[Any], list[BaseModel]]] = {}
        for item in fresh:
            if item.handler.prepare is not None:
                batches.setdefault(id(item.handler), (item.handler, []))[1].append(item.data)
        for handler, data in batches.values():
            assert handler.prepare is not None
            await handler.prepare(uow, data)

    async def _claim(self, session: AsyncSession, work: Sequence[_Work]) -> list[_Work]:
        """Insert the inbox rows of ``work`` in one statement; return the items not seen before.

        A second copy of one event within ``work`` is a duplicate too: only the first is claimed.
        """
        rows = [
            {"consumer": self.name, "source": item.event.source, "event_id": item.event.id}
            for item in work
        ]
        claim = _inbox_insert(session).values(rows).returning(inbox.c.source, inbox.c.event_id)
        claimed = {(row.source, row.event_id) for row in await session.execute(claim)}
        fresh = []
        for item in work:
            identity = (item.event.source, item.event.id)
            if identity in claimed:
                claimed.discard(identity)
                fresh.append(item)
        return fresh

    def _span(self, record: Record, event: CloudEvent) -> AbstractContextManager[Span]:
        """A consumer span continuing the producer's trace from the ``traceparent`` header."""
        parent = propagate.extract({"traceparent": event.traceparent} if event.traceparent else {})
        return tracer.start_as_current_span(
            f"{record.topic} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": record.topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
                "messaging.consumer.group.name": self.name,
                "messaging.message.id": event.id,
                "cloudevents.event_type": event.type,
            },
        )

    async def _dead_letter(self, record: Record, error: BaseException) -> None:
        await self._publisher.publish([dead_letter(record, error, consumer=self.name)])
        self.dead_lettered += 1
        instruments().dlt_messages.add(1, {"topic": record.topic, "consumer": self.name})
        logger.warning(
            "consumer %s: %s[%d]@%d dead-lettered: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            error_text(error),
        )


def _tp_order(tp: TopicPartition) -> tuple[str, int]:
    return tp.topic, tp.partition
