"""The bulk replay of a rebuild: large batches, no inbox, each event's data validated straight
from its bytes (pydantic-core's JSON path), one multi-row upsert per table and batch, offsets
committed per batch (see ``rebuild``).

Measured (bench/reporting_rebuild.py): validating a whole batch of one type as one JSON array
was slower per event than validating each event's bytes, so each is validated on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from shulian_common.bus.base import Bus, Publisher, Record, TopicPartition
from shulian_common.catalogue import EventDataError
from shulian_common.consumer import Subscription
from shulian_common.dead_letters import dead_letter
from shulian_common.envelope import CloudEvent, EnvelopeError
from shulian_common.readers import Reads
from shulian_common.trust import UntrustedEventError
from shulian_common.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _headers(record: Record) -> dict[str, str]:
    return {
        name: value.decode(errors="replace")
        for name, value in record.headers
        if value is not None and name.startswith("ce_")
    }


@dataclass
class BulkReplay:
    """Replays ``subscriptions`` from the earliest offsets into the projections, in bulk."""

    name: str
    bus: Bus
    uow_factory: UnitOfWorkFactory
    subscriptions: Sequence[Subscription]
    publisher: Publisher
    batch_size: int
    events: int = 0
    applied: int = 0
    dead_lettered: int = 0
    skipped: int = 0

    async def run(self, progress: Progress | None = None) -> None:
        """Poll until the group has caught up with the end of every partition."""
        handlers = {sub.topic: sub.handlers for sub in self.subscriptions}
        await self.bus.ensure_topics(list(handlers))
        subscriber = self.bus.subscriber(topics=list(handlers), group_id=self.name)
        idle = 0
        async with subscriber:
            while idle < 2:
                records = await subscriber.poll(timeout=0.2, max_records=self.batch_size)
                if records:
                    await self._apply(handlers, records)
                    await subscriber.commit(_next_offsets(records))
                    self.events += len(records)
                left = sum((await subscriber.lag()).values())
                if progress is not None:
                    progress(self.events, left)
                idle = idle + 1 if not records and left == 0 else 0

    async def _apply(
        self, handlers: Mapping[str, Mapping[str, Reads[Any]]], records: Sequence[Record]
    ) -> None:
        """Decode, check and apply one batch in log order, in one transaction."""
        poison: list[tuple[Record, Exception]] = []
        async with self.uow_factory() as uow:
            for record in records:
                h = _headers(record)
                reads = handlers.get(record.topic, {}).get(h.get("ce_type", ""))
                if reads is None:  # a type reporting does not read: never decoded
                    self.skipped += 1
                    continue
                try:
                    event = _light_event(h, record)
                    reads.trust(event)
                    data = reads.model.model_validate_json(record.value or b"")
                except ValidationError as exc:
                    poison.append(
                        (record, EventDataError(f"{record.topic}@{record.offset}: {exc}"))
                    )
                    continue
                except (EnvelopeError, UntrustedEventError) as exc:
                    poison.append((record, exc))
                    continue
                await reads.handle(uow, event, data)
                self.applied += 1
            await uow.commit()
        for record, error in poison:
            await self.publisher.publish([dead_letter(record, error, consumer=self.name)])
            self.dead_lettered += 1
            logger.warning("rebuild %s: %s@%d dead-lettered: %s", self.name, record.topic,
                           record.offset, error)  # fmt: skip


def _light_event(h: dict[str, str], record: Record) -> CloudEvent:
    """The envelope the handlers and the trust rule read, built without re-validating it."""
    if "ce_id" not in h or "ce_source" not in h or record.value is None:
        raise EnvelopeError("not a CloudEvent record: ce_id, ce_source or data missing")
    try:
        data = orjson.loads(record.value)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not a CloudEvent record: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("not a CloudEvent record: data is not an object")
    return CloudEvent.model_construct(
        id=h["ce_id"],
        source=h["ce_source"],
        type=h["ce_type"],
        specversion=h.get("ce_specversion", "1.0"),
        time=_EPOCH,  # not read by reporting's handlers
        subject=h.get("ce_subject"),
        partitionkey=h.get("ce_partitionkey") or "",
        data=data,
    )


def _next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = record.tp
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets
