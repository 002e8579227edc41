"""The unit of work: one transaction holding a handler's writes and the events it records.

Recorded events are written to the outbox by ``commit`` in the same transaction as everything else,
so a write and its events commit together or not at all; leaving the block without ``commit``
rolls back and forgets the recorded events. Repositories flush, never commit.

Per-key order is commit order whatever a handler touches: on PostgreSQL ``commit`` first takes a
transaction-scoped advisory lock per (topic, key) it is about to append to, in sorted order so two
units cannot deadlock on each other's keys, and only then inserts the outbox rows. A second
transaction on one key waits at the lock until the first commits, so it gets the higher ``seq`` and
commits second; without the lock it could take its ``seq`` later but commit first, and the relay,
which publishes in ``seq`` order, would reverse the two. SQLite needs no lock: it has one writer.

After a commit with events the factory's ``events_committed`` is set, waking an in-process relay;
on PostgreSQL the transaction also sends ``NOTIFY shulian_outbox`` for relays in other processes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Self

from opentelemetry import propagate
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.catalogue import catalogue as default_catalogue
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import outbox

SessionFactory = Callable[[], AsyncSession]
NOTIFY_CHANNEL = "shulian_outbox"  # relays LISTEN here for rows committed by other processes
# One round trip: every key's lock (unnest yields the sorted array in order), then the NOTIFY,
# which PostgreSQL delivers only when the transaction commits.
_LOCK_KEYS_AND_NOTIFY = text(
    f"SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM (SELECT count(pg_advisory_xact_lock(k)) "
    "FROM unnest(CAST(:keys AS BIGINT[])) AS k) AS locked"
)


@dataclass(frozen=True, slots=True)
class _Recorded:
    event: CloudEvent
    topic: str


def outbox_row(event: CloudEvent, topic: str) -> dict[str, Any]:
    """The outbox row of ``event`` bound for ``topic``."""
    return {
        "event_id": event.id,
        "topic": topic,
        "key": event.partitionkey,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        # SQLite keeps no offset: store UTC, read back as UTC.
        "time": event.time.astimezone(UTC),
        "traceparent": event.traceparent,
        "data": event.data,
    }


def key_lock_id(topic: str, key: str) -> int:
    """The stable signed 64-bit advisory-lock id of one (topic, key) (BLAKE2b, same everywhere)."""
    digest = hashlib.blake2b(f"{topic}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_keys(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> None:
    """Take the advisory lock of each (topic, key) in ascending id order, and NOTIFY the relay."""
    # Sorted ids: two transactions locking overlapping keys take them in one order, no deadlock.
    ids = sorted({key_lock_id(topic, key) for topic, key in keys})
    await session.execute(_LOCK_KEYS_AND_NOTIFY, {"keys": ids})


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, if one is active."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


class UnitOfWork:
    """``async with factory() as uow``: write through ``uow.session``, ``record``, ``commit``."""

    session: AsyncSession

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        source: str,
        catalogue: Catalogue,
        committed: asyncio.Event | None = None,
    ):
        self._session_factory = session_factory
        self._source = source
        self._catalogue = catalogue
        self._committed = committed
        self._recorded: list[_Recorded] = []

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self._recorded = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        # After a commit this rollback is a no-op; otherwise it discards writes and events alike.
        try:
            await self.rollback()
        finally:
            await self.session.close()

    @property
    def source(self) -> str:
        """The CloudEvents ``source`` of the events this unit records."""
        return self._source

    @property
    def recorded(self) -> tuple[CloudEvent, ...]:
        """Events recorded since the last commit or rollback."""
        return tuple(r.event for r in self._recorded)

    def record(self, event: EventModel, *, key: str, subject: str | None = None) -> CloudEvent:
        """Queue ``event`` (keyed by its aggregate id) for the outbox at the next commit."""
        spec = self._catalogue.spec_for(event)
        cloud_event = CloudEvent(
            source=self._source,
            type=spec.type,
            subject=subject,
            partitionkey=key,
            traceparent=current_traceparent(),
            data=event.model_dump(mode="json"),
        )
        self._recorded.append(_Recorded(cloud_event, spec.topic))
        return cloud_event

    async def commit(self) -> None:
        """Flush the writes, append the recorded events to the outbox, commit all at once."""
        await self.session.flush()
        recorded = bool(self._recorded)
        if recorded:
            await self._append_to_outbox()
        await self.session.commit()
        self._recorded.clear()
        if recorded and self._committed is not None:
            self._committed.set()

    async def _append_to_outbox(self) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            # The key locks come before the rows get their seq (module docstring).
            await lock_keys(self.session, {(r.topic, r.event.partitionkey) for r in self._recorded})
        rows = [outbox_row(r.event, r.topic) for r in self._recorded]
        await self.session.execute(insert(outbox), rows)

    async def rollback(self) -> None:
        """Discard the writes and the recorded events."""
        self._recorded.clear()
        await self.session.rollback()


class UnitOfWorkFactory:
    """Makes units of work on one database, recording events as ``source``."""

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        source: str,
        catalogue: Catalogue = default_catalogue,
    ) -> None:
        self.session_factory = session_factory
        self.source = source
        self.catalogue = catalogue
        # Set after each commit that appended events: the in-process relay waits on it.
        self.events_committed = asyncio.Event()

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(
            self.session_factory,
            source=self.source,
            catalogue=self.catalogue,
            committed=self.events_committed,
        )
