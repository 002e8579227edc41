"""Rebuild the projections from the start of the streams, batched.

The projections are emptied, then a fresh consumer group (which starts at the earliest offset)
reads every subscribed topic from the beginning with the same reader models and handlers as the
live consumer, ``batch_size`` events per transaction. Snapshots are version-gated upserts, so the
result is the latest version of each record: the same figures as before, whatever the live
consumer did meanwhile.

Two ways to replay (``bulk``):
- **consumer** (``bulk=False``): the kit's ``ConsumerRunner``, event by event through the inbox
  (its rows are deleted at the end: nothing reads them again).
- **bulk** (the default): a rebuild starts from empty projections, and every projection is an
  idempotent, version-gated upsert, so replaying a record twice changes nothing — the per-event
  inbox buys nothing here. On the local log the bulk path reads each partition up to its end
  in raw pages straight from the log file (``LocalBus.reader``), the next page while one is
  applied; on Kafka it polls a fresh group in large batches and commits offsets per batch. It
  reads type and source from the headers (records of types reporting does not read are never
  decoded), decodes the data once with orjson for the trust rule and the reader model, applies
  the same handlers in log order, and writes each page as one upsert per table handed to the
  driver's executemany (``repository``). A record that fails decoding, validation or the trust
  rule is dead-lettered as the live consumer would (see ``handlers/bulk.py``).

In parallel (``jobs`` > 1, bulk, on the local log): the partitions are shared out among ``jobs``
worker processes, balanced by their record counts, each a ``BulkReplay`` of its share with its
own connections. A record's events share its key and so its partition, and every projection is
a version-gated upsert keyed by the record, so the shares touch disjoint rows and the order
between partitions does not matter: the figures are those of one process. The processes take
turns at SQLite's single writer (WAL, busy timeout), while decoding and validating, most of the
work, run side by side. On Kafka the replay stays one group member in one process. A worker that
fails stops the others and the rebuild (the projections are partial until one ends: run it
again); the workers of a rebuild that was killed see it gone and exit.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Mapping, MutableSequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

import orjson
from sqlalchemy import delete

from shulian_common.bus import bus_from_url
from shulian_common.bus.base import TopicPartition
from shulian_common.bus.local import LocalBus
from shulian_common.consumer import ConsumerRunner
from shulian_common.db import create_engine, create_session_factory, is_sqlite, migrate
from shulian_common.messaging import inbox
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import repository
from shulian_reporting.consumers import projection_subscriptions
from shulian_reporting.handlers.bulk import BulkReplay, WriteLock
from shulian_reporting.orm import MIGRATIONS

logger = logging.getLogger(__name__)

# Called after each poll with (events handled so far, events known to be left).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What a rebuild did."""

    events: int  # records read (applied, duplicates and types reporting does not read)
    applied: int
    dead_lettered: int
    seconds: float
    rows: dict[str, int]
    # CPU seconds of the worker processes of a parallel rebuild (all their threads); 0.0 when
    # the replay ran in the calling process (its own CPU time says it then).
    worker_cpu: float = 0.0

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds else 0.0


class RebuildError(RuntimeError):
    """A parallel rebuild's worker failed: the projections are partial until a rebuild ends."""


async def rebuild(
    settings: Settings,
    *,
    batch_size: int,
    progress: Progress | None = None,
    bulk: bool = True,
    jobs: int = 1,
) -> RebuildResult:
    """Empty the projections and replay the streams into them; what it did.

    ``jobs``: processes sharing the partitions (bulk replay of the local log only).
    """
    # JSON columns written with orjson: the same compact UTF-8 text as the kit's serializer
    # (no spaces, no escapes) for the lists and ints projections hold, in a fraction of the time.
    engine = create_engine(settings.resolved_database_url, json_serializer=_json_text)
    bus = bus_from_url(settings.resolved_bus_url, settings)
    publisher = bus.publisher()
    try:
        await migrate(engine, MIGRATIONS)
        uow_factory = UnitOfWorkFactory(create_session_factory(engine), source=settings.source)
        async with uow_factory() as uow:
            await repository.clear_projections(uow.session)
            await uow.commit()
        name = f"{settings.service}-{settings.node_id}-rebuild-{uuid.uuid4().hex[:8]}"
        if bulk and jobs > 1 and isinstance(bus, LocalBus):  # the workers publish dead letters
            started = time.perf_counter()
            events, applied, dead, cpu = await _replay_in_processes(
                settings, bus, name, batch_size, jobs, progress
            )
            seconds = time.perf_counter() - started
            async with uow_factory() as uow:
                rows = await repository.projection_counts(uow.session)
            return RebuildResult(events, applied, dead, seconds, rows, cpu)
        await publisher.start()
        if bulk:
            replay = BulkReplay(
                name=name,
                bus=bus,
                uow_factory=uow_factory,
                subscriptions=projection_subscriptions(),
                publisher=publisher,
                batch_size=batch_size,
            )
            started = time.perf_counter()
            await replay.run(progress)
            seconds = time.perf_counter() - started
            async with uow_factory() as uow:
                rows = await repository.projection_counts(uow.session)
            return RebuildResult(replay.events, replay.applied, replay.dead_lettered, seconds, rows)
        runner = ConsumerRunner(
            name=name,
            bus=bus,
            uow_factory=uow_factory,
            subscriptions=projection_subscriptions(),
            publisher=publisher,
            batch_size=batch_size,
            lag_interval=0.0,
        )
        started = time.perf_counter()
        events = await _replay(runner, progress)
        seconds = time.perf_counter() - started
        async with uow_factory() as uow:
            await uow.session.execute(delete(inbox).where(inbox.c.consumer == name))
            rows = await repository.projection_counts(uow.session)
            await uow.commit()
        return RebuildResult(events, runner.processed, runner.dead_lettered, seconds, rows)
    finally:
        await publisher.stop()
        await bus.close()
        await engine.dispose()


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


async def _replay(runner: ConsumerRunner, progress: Progress | None) -> int:
    """Poll until the group has caught up with the end of every partition."""
    handled = idle = 0
    async with runner:
        while idle < 2:
            count = await runner.run_once(timeout=0.2)
            handled += count
            left = sum(runner.lag.values())
            if progress is not None:
                progress(handled, left)
            idle = idle + 1 if count == 0 and left == 0 else 0
    return handled


_SLOTS = 4  # the shared counts of one worker
ORPHAN_CHECK_S = 1.0  # how often a worker looks whether the rebuilding process is still there


async def _replay_in_processes(
    settings: Settings,
    bus: LocalBus,
    name: str,
    batch_size: int,
    jobs: int,
    progress: Progress | None,
) -> tuple[int, int, int, float]:
    """Replay the log's partitions in up to ``jobs`` worker processes; (events, applied,
    dead-lettered, CPU seconds) summed over them."""
    topics = [sub.topic for sub in projection_subscriptions()]
    await bus.ensure_topics(topics)
    async with bus.reader() as reader:
        ends = await reader.log_ends(topics)
    shares = shares_of(ends, jobs)
    total = sum(ends.values())
    # Workers forked from a fork server that imported this module once: each starts in
    # milliseconds, not after seconds of imports, and never as a copy of this process's event
    # loop and threads.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    # Per worker: events read, applied, dead-lettered, CPU µs (written by the worker alone).
    counts = context.Array("q", _SLOTS * len(shares), lock=False)
    lock = _write_lock(context, settings)
    # Never written: the workers see its end of file when this process is gone, even killed.
    alive, here = context.Pipe(duplex=False)
    workers = [
        context.Process(
            target=_work,
            args=(
                _Share(settings, f"{name}-{i}", frozenset(tps), batch_size, counts, i, lock, alive),
            ),
            name=f"{name}-{i}",
            daemon=True,
        )
        for i, tps in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    try:
        while any(worker.is_alive() for worker in workers):
            await asyncio.sleep(0.2)
            if progress is not None:
                done = sum(counts[0::_SLOTS])
                progress(done, max(0, total - done))
            if any(worker.exitcode for worker in workers):
                break
    finally:
        # Cancelled, or a worker failed: the projections are partial whatever the others do, and
        # a worker that died holding the write lock would leave the others waiting for it forever.
        failed = [worker for worker in workers if worker.exitcode]
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        here.close()
        alive.close()
    if failed:
        names = ", ".join(f"{w.name} (exit {w.exitcode})" for w in failed)
        stopped = ", ".join(w.name for w in workers if w.exitcode and w not in failed)
        raise RebuildError(
            f"rebuild: {names} failed{f' ({stopped} stopped)' if stopped else ''}; the "
            "projections are partial until a rebuild ends (run it again)"
        )
    events = sum(counts[0::_SLOTS])
    if progress is not None:
        progress(events, max(0, total - events))
    return events, sum(counts[1::_SLOTS]), sum(counts[2::_SLOTS]), sum(counts[3::_SLOTS]) / 1e6


def _write_lock(context: BaseContext, settings: Settings) -> WriteLock | None:
    """SQLite has one writer: the workers take turns at it by this lock, not by its busy
    handler. PostgreSQL takes concurrent writers."""
    return context.Lock() if is_sqlite(settings.resolved_database_url) else None


def shares_of(ends: Mapping[TopicPartition, int], jobs: int) -> list[list[TopicPartition]]:
    """The non-empty partitions shared out among at most ``jobs`` workers, balanced by record
    counts (the largest partition first, each to the least loaded share)."""
    shares: list[list[TopicPartition]] = []
    loads: list[int] = []
    for tp, end in sorted(
        ends.items(), key=lambda item: (-item[1], item[0].topic, item[0].partition)
    ):
        if end <= 0:
            continue
        if len(shares) < jobs:
            shares.append([tp])
            loads.append(end)
            continue
        least = loads.index(min(loads))
        shares[least].append(tp)
        loads[least] += end
    return shares


@dataclass(frozen=True, slots=True)
class _Share:
    """What one worker process of a parallel rebuild replays, and where it reports."""

    settings: Settings
    name: str
    partitions: frozenset[TopicPartition]
    batch_size: int
    counts: MutableSequence[int]  # shared with the parent: _SLOTS values from index * _SLOTS
    index: int
    lock: WriteLock | None
    rebuilding: Connection  # the read end of a pipe the rebuilding process holds open


def _work(share: _Share) -> None:
    """A worker process: replay ``share`` (a process target, so a plain function)."""
    asyncio.run(_replay_share_unless_orphaned(share))


async def _replay_share_unless_orphaned(share: _Share) -> None:
    """Replay ``share``, or exit when the rebuilding process is gone (killed, so nothing joins
    or terminates its workers): an orphan would go on writing projections that the next rebuild
    empties and refills, or wait for ever on a write lock its dead sibling held."""
    replay = asyncio.ensure_future(_replay_share(share))
    while not replay.done():
        await asyncio.wait({replay}, timeout=ORPHAN_CHECK_S)
        if not replay.done() and share.rebuilding.poll():  # end of file: nothing is written
            logger.error("rebuild %s: the rebuilding process is gone; stopping", share.name)
            os._exit(3)
    replay.result()


async def _replay_share(share: _Share) -> None:
    settings = share.settings
    engine = create_engine(settings.resolved_database_url, json_serializer=_json_text)
    bus = bus_from_url(settings.resolved_bus_url, settings)
    publisher = bus.publisher()
    try:
        await publisher.start()
        replay = BulkReplay(
            name=share.name,
            bus=bus,
            uow_factory=UnitOfWorkFactory(create_session_factory(engine), source=settings.source),
            subscriptions=projection_subscriptions(),
            publisher=publisher,
            batch_size=share.batch_size,
            partitions=share.partitions,
            write_lock=share.lock,
        )
        at = _SLOTS * share.index

        def progress(done: int, _left: int) -> None:
            share.counts[at] = done

        await replay.run(progress)
        cpu = round(time.process_time() * 1e6)
        share.counts[at : at + _SLOTS] = [replay.events, replay.applied, replay.dead_lettered, cpu]
    finally:
        await publisher.stop()
        await bus.close()
        await engine.dispose()
