"""The bulk replay of a rebuild: large pages, no inbox, each event's data decoded once and
validated by its reader model, one upsert per table and page executed for all its rows.

Reading. On the local log the partitions are read straight from the log file, a page of raw
records per SQL statement (``LocalBus.reader``), the next page read in the log's thread while
this one is applied; no consumer group, no offsets (a rebuild's group was used once and then
forgotten, and a failed rebuild starts again from empty projections). On Kafka the replay is a
fresh group's member polling ``batch_size`` records at a time, committing offsets per batch.

Decoding. Only the headers the replay needs are read (type, id, source, subject, key); records
of types reporting does not read are never decoded. The data is decoded once with orjson, for
the trust rule (which reads the raw data) and for the reader model, validated from the decoded
object as the live consumer validates it (``Reads.parse``: ``model_validate``).

Measured (bench/reporting_rebuild.py, micro-benchmarks on the bench's records): validating the
decoded object costs less than parsing the bytes a second time (``model_validate_json``: the
data was already decoded for the trust rule); validating a page of one type as one JSON array
or as a list (``TypeAdapter(list[Model])``) was slower than one call per event. No validation
is skipped (a malformed record is dead-lettered, as the live consumer does). The trust rule's
outcome depends only on the source node, the owner and the division codes, so it is computed
once per distinct combination. The cyclic garbage collector is off
during a replay: a page allocates hundreds of thousands of short-lived objects, freed by
reference counting, and the collector's passes over them took over half of the decode time;
a young-generation pass after each page (free: the page is gone by then) reclaims any cycles.
Applying page n in a task while page n+1 is decoded, so the driver's SQL overlaps decoding, was
measured and not kept: 25 % more CPU, no steady wall-clock gain on two shared cores.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from shulian_common.bus.base import Bus, Publisher, Record, TopicPartition
from shulian_common.bus.local import LocalBus, LocalReader
from shulian_common.bus.local.store import RawRecord, decode_headers
from shulian_common.catalogue import EventDataError
from shulian_common.consumer import Subscription
from shulian_common.dead_letters import dead_letter
from shulian_common.envelope import CloudEvent, EnvelopeError
from shulian_common.readers import Reads
from shulian_common.trust import DIVISION_FIELDS, UntrustedEventError, check_trust
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import repository
from shulian_reporting.handlers.projections import ROWS
from shulian_reporting.repository import ProjectedRow

logger = logging.getLogger(__name__)


class WriteLock(Protocol):
    """A lock of another module's making (``multiprocessing``'s, shared between processes)."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...


Progress = Callable[[int, int], None]
# The CloudEvent headers a replay reads; the others (time, trace) are not used by reporting.
_WANTED = ("ce_id", "ce_source", "ce_type", "ce_subject", "ce_partitionkey")
# One record to apply: its headers (by name; a header may be None), its data bytes, and the
# record or the raw row it came from (rebuilt as a Record only to dead-letter it, which is rare).
_Item = tuple[dict[str, Any], bytes | None, Record | tuple[TopicPartition, RawRecord]]


@dataclass
class BulkReplay:
    """Replays ``subscriptions`` from the earliest offsets into the projections, in bulk."""

    name: str
    bus: Bus
    uow_factory: UnitOfWorkFactory
    subscriptions: Sequence[Subscription]
    publisher: Publisher
    batch_size: int
    # On the local log, the partitions this replay applies (a share of a parallel rebuild's);
    # None: every partition of the subscribed topics.
    partitions: Collection[TopicPartition] | None = None
    # A lock shared by the processes of a parallel rebuild on SQLite, held while a page is
    # written: a writer waiting for it starts the moment the other is done, where SQLite's busy
    # handler would sleep in steps of up to 100 ms. None: no one to take turns with.
    write_lock: WriteLock | None = None
    events: int = 0
    applied: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    _trusted: dict[tuple[Any, ...], bool] = field(default_factory=dict, repr=False)

    async def run(self, progress: Progress | None = None) -> None:
        """Replay every partition of the subscribed topics up to its end as of the start."""
        handlers = {sub.topic: sub.handlers for sub in self.subscriptions}
        await self.bus.ensure_topics(list(handlers))
        with _collector_paused():
            if isinstance(self.bus, LocalBus):
                async with self.bus.reader() as reader:
                    await self._replay_log(reader, handlers, progress)
            else:
                await self._replay_group(handlers, progress)

    async def _replay_log(
        self,
        reader: LocalReader,
        handlers: Mapping[str, Mapping[str, Reads[Any]]],
        progress: Progress | None,
    ) -> None:
        """Read each partition in pages from the log file, the next page while one is applied."""
        ends = await reader.log_ends(list(handlers))
        if self.partitions is not None:
            ends = {tp: end for tp, end in ends.items() if tp in self.partitions}
        total = sum(ends.values())
        spans = [(tp, end) for tp, end in ends.items() if end > 0]

        def pages() -> Iterator[tuple[TopicPartition, int, int]]:
            for tp, end in spans:
                for start in range(0, end, self.batch_size):
                    yield tp, start, min(self.batch_size, end - start)

        plan = pages()

        async def read_next() -> tuple[TopicPartition, list[RawRecord]] | None:
            step = next(plan, None)
            if step is None:
                return None
            tp, start, limit = step
            return tp, await reader.read_range(tp.topic, tp.partition, start, limit)

        pending = asyncio.ensure_future(read_next())
        while (page := await pending) is not None:
            pending = asyncio.ensure_future(read_next())
            tp, rows = page
            await self._apply(handlers.get(tp.topic, {}), [_raw_item(tp, row) for row in rows])
            self.events += len(rows)
            gc.collect(0)  # the page's reference cycles (sessions, transactions), if any
            if progress is not None:
                progress(self.events, max(0, total - self.events))
        if progress is not None and not spans:
            progress(0, 0)

    async def _replay_group(
        self, handlers: Mapping[str, Mapping[str, Reads[Any]]], progress: Progress | None
    ) -> None:
        """Poll a fresh group until it has caught up with the end of every partition."""
        subscriber = self.bus.subscriber(topics=list(handlers), group_id=self.name)
        idle = 0
        async with subscriber:
            while idle < 2:
                records = await subscriber.poll(timeout=0.2, max_records=self.batch_size)
                by_topic: dict[str, list[_Item]] = {}
                for record in records:
                    by_topic.setdefault(record.topic, []).append(_record_item(record))
                for topic, items in by_topic.items():
                    # Topics apart: records of one aggregate share a topic and a partition,
                    # so each aggregate's order is kept.
                    await self._apply(handlers.get(topic, {}), items)
                if records:
                    await subscriber.commit(_next_offsets(records))
                    self.events += len(records)
                left = sum((await subscriber.lag()).values())
                if progress is not None:
                    progress(self.events, left)
                idle = idle + 1 if not records and left == 0 else 0

    async def _apply(self, handlers: Mapping[str, Reads[Any]], items: Sequence[_Item]) -> None:
        """Decode, check and apply one page of one topic in log order, in one transaction.

        A type whose handler only stages a projection row (``projections.ROWS``) and whose trust
        rule is the kit's takes the short way: its row is built from the validated snapshot and
        staged straight into the table's buffer, and the envelope is built only when the trust
        outcome of its (source, owner, divisions) is not known to be "trusted". Every other type
        goes through its handler with the envelope, as the live consumer does.
        """
        poison: list[tuple[Record, Exception]] = []
        trusted = self._trusted
        async with self.uow_factory() as uow:
            buffers: dict[str, dict[str, ProjectedRow]] = {}
            for h, value, record in items:
                reads = handlers.get(h.get("ce_type") or "")
                if reads is None:  # a type reporting does not read: never decoded
                    self.skipped += 1
                    continue
                rows = ROWS.get(reads.handle) if reads.trust is check_trust else None
                try:
                    if rows is None:
                        event = _light_event(h, value)
                        self._check_trust(reads, event)
                        data = reads.model.model_validate(event.data)
                    else:
                        raw = _data(h, value)
                        key = (
                            h["ce_source"],
                            raw.get("owner_node"),
                            *map(raw.get, DIVISION_FIELDS),
                        )
                        try:
                            known = trusted.get(key)
                        except TypeError:  # an unhashable code: decided by the rule itself
                            known = None
                        if known is not True:
                            self._check_trust(reads, _light_event(h, value, raw))
                        data = reads.model.model_validate(raw)
                except ValidationError as exc:
                    where = _record(record)
                    poison.append((where, EventDataError(f"{where.topic}@{where.offset}: {exc}")))
                    continue
                except (EnvelopeError, UntrustedEventError) as exc:
                    poison.append((_record(record), exc))
                    continue
                if rows is None:
                    await reads.handle(uow, event, data)
                else:
                    table, row = rows
                    staged = buffers.get(table)
                    if staged is None:
                        staged = buffers[table] = repository.staged(uow.session, table)
                    repository.stage(staged, table, row(data))
                self.applied += 1
            if self.write_lock is None:
                await uow.commit()
            else:
                await asyncio.to_thread(self.write_lock.acquire)
                try:
                    await uow.commit()
                finally:
                    self.write_lock.release()
        for bad, error in poison:
            await self.publisher.publish([dead_letter(bad, error, consumer=self.name)])
            self.dead_lettered += 1
            logger.warning("rebuild %s: %s@%d dead-lettered: %s", self.name, bad.topic,
                           bad.offset, error)  # fmt: skip

    def _check_trust(self, reads: Reads[Any], event: CloudEvent) -> None:
        """``reads.trust``; the kit's rule once per (source, owner, divisions) combination."""
        if reads.trust is not check_trust:
            reads.trust(event)
            return
        data = event.data
        # check_trust's outcome is a function of these values (compared with ==, codes used
        # only when they are strings), so equal keys give equal outcomes.
        key = (event.source, data.get("owner_node"), *map(data.get, DIVISION_FIELDS))
        try:
            trusted = self._trusted.get(key)
        except TypeError:  # an unhashable value (a list where a code belongs): not remembered
            check_trust(event)
            return
        if trusted is None:
            try:
                check_trust(event)
            except UntrustedEventError:
                self._trusted[key] = False
                raise
            self._trusted[key] = True
        elif not trusted:
            check_trust(event)  # raises, with this event's own message


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (reference counting still frees)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _raw_item(tp: TopicPartition, row: RawRecord) -> _Item:
    text = row[2]
    try:
        h = dict(orjson.loads(text))  # every header, by name (the last one of a repeated name)
    except orjson.JSONDecodeError:  # a header that is not UTF-8 (kept with surrogateescape)
        h = {
            name: None if raw is None else raw.decode(errors="replace")
            for name, raw in decode_headers(text)
        }
    return h, row[1], (tp, row)


def _record_item(record: Record) -> _Item:
    h = {
        name: raw.decode(errors="replace")
        for name, raw in record.headers
        if raw is not None and name in _WANTED
    }
    return h, record.value, record


def _record(where: Record | tuple[TopicPartition, RawRecord]) -> Record:
    """The record an item came from (to dead-letter it, which is rare)."""
    if isinstance(where, Record):
        return where
    tp, (key, value, text, offset, timestamp_ms) = where
    return Record(tp.topic, tp.partition, offset, key, value, decode_headers(text), timestamp_ms)


# Every field of an envelope built by ``_light_event``, as pydantic marks a constructed model.
_FIELDS_SET = frozenset(CloudEvent.model_fields)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DEFAULTS = dict(
    CloudEvent.model_construct(
        id="-", source="-", type="-", time=_EPOCH, partitionkey="-", data={}
    ).__dict__
)


def _data(h: Mapping[str, str], value: bytes | None) -> dict[str, Any]:
    """The record's data decoded, if it can be a CloudEvent's (``EnvelopeError`` if not)."""
    if h.get("ce_id") is None or h.get("ce_source") is None or value is None:
        raise EnvelopeError("not a CloudEvent record: ce_id, ce_source or data missing")
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not a CloudEvent record: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("not a CloudEvent record: data is not an object")
    return data


def _light_event(
    h: Mapping[str, str], value: bytes | None, data: dict[str, Any] | None = None
) -> CloudEvent:
    """The envelope the handlers and the trust rule read, built without re-validating it.

    What ``CloudEvent.model_construct`` does, without resolving every default again per record
    (that took as long as validating the data): the headers came from a producer that built
    and validated the envelope, and the data is checked by the reader model next. ``data``:
    the record's data already decoded by ``_data``.
    """
    if data is None:
        data = _data(h, value)
    event = CloudEvent.__new__(CloudEvent)
    values = {
        **_DEFAULTS,
        "id": h["ce_id"],
        "source": h["ce_source"],
        "type": h["ce_type"],
        "time": _EPOCH,  # not read by reporting's handlers
        "subject": h.get("ce_subject"),
        "partitionkey": h.get("ce_partitionkey") or "",
        "data": data,
    }
    object.__setattr__(event, "__dict__", values)
    object.__setattr__(event, "__pydantic_fields_set__", _FIELDS_SET)
    object.__setattr__(event, "__pydantic_extra__", None)
    object.__setattr__(event, "__pydantic_private__", None)
    return event


def _next_offsets(records: Sequence[Record]) -> dict[TopicPartition, int]:
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = record.tp
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets
