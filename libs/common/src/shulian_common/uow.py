"""The unit of work: one transaction holding a handler's writes and the events it records.

Recorded events are written to the outbox by ``commit`` in the same transaction as everything else,
so a write and its events commit together or not at all; leaving the block without ``commit``
rolls back and forgets the recorded events. Repositories flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Self

from opentelemetry import propagate
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.catalogue import catalogue as default_catalogue
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import outbox

SessionFactory = Callable[[], AsyncSession]


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


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, if one is active."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


class UnitOfWork:
    """``async with factory() as uow``: write through ``uow.session``, ``record``, ``commit``."""

    session: AsyncSession

    def __init__(self, session_factory: SessionFactory, *, source: str, catalogue: Catalogue):
        self._session_factory = session_factory
        self._source = source
        self._catalogue = catalogue
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
        # Flushing first takes the aggregates' row locks before the outbox rows get their seq,
        # so two transactions on one aggregate append in the order they commit.
        await self.session.flush()
        if self._recorded:
            rows = [outbox_row(r.event, r.topic) for r in self._recorded]
            await self.session.execute(insert(outbox), rows)
        await self.session.commit()
        self._recorded.clear()

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

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, source=self.source, catalogue=self.catalogue)
