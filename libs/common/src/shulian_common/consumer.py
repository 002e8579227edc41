"""The inbox-backed consumer: effectively-once handling on top of at-least-once delivery.

Per record: decode the CloudEvent; open a unit of work; insert ``(consumer, source, id)`` into the
inbox (already there: a duplicate, nothing to do); call the handler; commit the inbox row, the
handler's writes and the events it recorded in ONE transaction. Offsets are committed only after the
database commits of the records they cover, so a crash in between redelivers records whose effects
are already in the database, and the inbox turns them into no-ops.

Poison records never block a partition: an undecodable record or one whose data fails its schema
goes to ``{topic}.DLT`` at once; a handler that keeps raising goes there after ``max_retries``
attempts. Infrastructure failures (the bus or the database unreachable) are not the record's fault:
they rewind to the committed offsets and ``run`` backs off, so nothing is dead-lettered for them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from typing import Any, Self, cast

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind
from pydantic import BaseModel, ValidationError
from sqlalchemy import CursorResult, Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.bus.base import (
    Bus,
    BusError,
    OutgoingMessage,
    Publisher,
    Record,
    Subscriber,
    TopicPartition,
    dlt_topic,
)
from shulian_common.catalogue import EventDataError, check_event_type, topic_service
from shulian_common.envelope import CloudEvent, EnvelopeError
from shulian_common.messaging import inbox
from shulian_common.readers import Reads
from shulian_common.telemetry import instruments, set_consumer_lag
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[UnitOfWork, CloudEvent, BaseModel], Awaitable[None]]

# Failures of the platform rather than of the record: they rewind and back off, never go to the
# DLT. A handler's own errors (including IntegrityError) are the record's: retried, then DLT.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    BusError,
    OperationalError,
    InterfaceError,
    ConnectionError,
)
DLT_ERROR_LIMIT = 512  # characters of the error kept in the dlt_error header
LAG_INTERVAL = 5.0  # seconds between lag readings: each costs the bus a round trip


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


class UntrustedEventError(ValueError):
    """An event about an aggregate was not published by the aggregate's owner node."""


def _check_owner(event: CloudEvent, data: BaseModel) -> None:
    # Only the owner node writes an aggregate: an event naming another owner is untrusted input.
    owner = getattr(data, "owner_node", None)
    if owner is not None and event.node != owner:
        raise UntrustedEventError(
            f"{event.type} {event.id} from {event.source} is about an aggregate owned by {owner}"
        )


def _error_text(exc: BaseException) -> str:
    """``Type: message`` without input values or SQL parameters (personal data), truncated."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in cause.errors(include_url=False, include_input=False)
        )
    elif isinstance(exc, StatementError):
        # The driver's first line names the problem; SQLAlchemy appends the SQL and parameters.
        details = str(exc.orig).splitlines()[0] if exc.orig is not None else ""
    else:
        details = str(exc)
    return f"{type(exc).__name__}: {details}"[:DLT_ERROR_LIMIT]


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` unless ``stop`` is set first."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def _inbox_insert(session: AsyncSession) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` on the inbox, for this session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(inbox).on_conflict_do_nothing()
    return sqlite.insert(inbox).on_conflict_do_nothing()


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
        lag_interval: float = LAG_INTERVAL,
    ) -> None:
        self.name = name
        self._bus = bus
        self._uow_factory = uow_factory
        self._publisher = publisher
        self._max_retries = max(1, max_retries)
        self._retry_backoff = retry_backoff
        self._lag_interval = lag_interval
        self._lag_read_at: float | None = None
        self._handlers = self._index(subscriptions)
        self._subscriber: Subscriber | None = None
        # Counters for /readyz and logs.
        self.processed = 0
        self.duplicates = 0
        self.skipped = 0
        self.dead_lettered = 0
        self.failed_attempts = 0
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

    async def stop(self) -> None:
        """Leave the group (offsets were already committed after each poll)."""
        subscriber, self._subscriber = self._subscriber, None
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
                    failed_in_row = 0
                except INFRASTRUCTURE_ERRORS as exc:
                    failed_in_row += 1
                    delay = min(5.0, self._retry_backoff * 2**failed_in_row)
                    logger.warning(
                        "consumer %s: %s: %s; retrying in %.2fs",
                        self.name,
                        type(exc).__name__,
                        exc,
                        delay,
                    )
                    await _wait(stop, delay)
        finally:
            await self.stop()

    async def run_once(self, timeout: float = 1.0) -> int:  # noqa: ASYNC109 - the poll's own wait
        """Poll once and handle what came; return how many records were handled."""
        subscriber = self._require_started()
        records = await subscriber.poll(timeout=timeout)
        done: dict[TopicPartition, int] = {}
        try:
            for record in records:
                await self._handle(record)
                done[record.tp] = record.offset + 1
        except Exception:
            # Records after the failure were polled but not applied: read them again. (A crash or
            # a cancellation skips this, like a killed process: redelivery covers it.)
            await self._commit_and_rewind(subscriber, done)
            raise
        if done:
            await subscriber.commit(done)
        await self._report_lag(subscriber)
        return len(done)

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
            idle = idle + 1 if count == 0 and subscriber.assignment() else 0
        return handled

    async def _report_lag(self, subscriber: Subscriber) -> None:
        """Read the lag and report it per partition, at most once every ``lag_interval``."""
        now = time.monotonic()
        if self._lag_read_at is not None and now - self._lag_read_at < self._lag_interval:
            return
        self._lag_read_at = now
        try:
            self.lag = await subscriber.lag()
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
            with suppress(BusError):
                await subscriber.stop()

    async def _handle(self, record: Record) -> None:
        """Apply, skip or dead-letter one record; raise only for infrastructure failures."""
        try:
            event = CloudEvent.from_record(record.headers, record.value, record.key)
        except EnvelopeError as exc:
            await self._dead_letter(record, exc)
            return
        reads = self._handlers.get(record.topic, {}).get(event.type)
        if reads is None:  # a type this consumer does not read: skip, the offset advances
            self.skipped += 1
            return
        try:
            data = reads.parse(event)
            _check_owner(event, data)
        except (EventDataError, UntrustedEventError) as exc:
            await self._dead_letter(record, exc)
            return
        with self._span(record, event):
            error = await self._apply_with_retries(event, data, reads.handle)
        if error is not None:
            await self._dead_letter(record, error)

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

    async def _apply_with_retries(
        self, event: CloudEvent, data: BaseModel, handler: Handler
    ) -> Exception | None:
        """Apply the event, retrying a failing handler; return the last error if all failed."""
        for attempt in range(1, self._max_retries + 1):
            try:
                await self._apply(event, data, handler)
                return None
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:
                self.failed_attempts += 1
                logger.warning(
                    "consumer %s: %s %s failed (attempt %d/%d): %s",
                    self.name,
                    event.type,
                    event.id,
                    attempt,
                    self._max_retries,
                    _error_text(exc),
                )
                if attempt == self._max_retries:
                    return exc
                await asyncio.sleep(self._retry_backoff * 2 ** (attempt - 1))
        return None  # unreachable: the loop returns on success or on the last attempt

    async def _apply(self, event: CloudEvent, data: BaseModel, handler: Handler) -> None:
        """One attempt: inbox row, handler, commit, all in one transaction."""
        async with self._uow_factory() as uow:
            claim = _inbox_insert(uow.session).values(
                consumer=self.name, source=event.source, event_id=event.id
            )
            result = cast(CursorResult[Any], await uow.session.execute(claim))
            if result.rowcount == 0:
                self.duplicates += 1
                return
            await handler(uow, event, data)
            await uow.commit()
        self.processed += 1

    async def _dead_letter(self, record: Record, error: BaseException) -> None:
        headers = [(k, v) for k, v in record.headers if not k.startswith("dlt_")]
        headers += [
            ("dlt_origin_topic", record.topic.encode()),
            ("dlt_origin_partition", str(record.partition).encode()),
            ("dlt_origin_offset", str(record.offset).encode()),
            ("dlt_error", _error_text(error).encode()),
            ("dlt_consumer", self.name.encode()),
        ]
        key = record.key.decode("utf-8", "replace") if record.key else ""
        message = OutgoingMessage(
            topic=dlt_topic(record.topic), key=key, value=record.value or b"", headers=headers
        )
        await self._publisher.publish([message])
        self.dead_lettered += 1
        instruments().dlt_messages.add(1, {"topic": record.topic, "consumer": self.name})
        logger.warning(
            "consumer %s: %s[%d]@%d dead-lettered: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            _error_text(error),
        )


def _tp_order(tp: TopicPartition) -> tuple[str, int]:
    return tp.topic, tp.partition
