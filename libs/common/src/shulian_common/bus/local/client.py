"""The local log's async API: publisher, group member and bus, each on its own SQLite connection.

Wake-ups. A publisher, once its batch is committed, wakes every group member on the machine
through the log's wake directory (``shulian_common.wake``: a datagram to each member's Unix
socket); a member whose heartbeat changed the group (joined, took or released partitions) or that
leaves wakes the others too, so a rebalance never waits for a poll. A member with nothing to read
waits for a wake-up, fetching again at the latest every ``poll_interval`` (1 s) as a fallback in
case one is lost, and at its heartbeats. Without wake-ups (``wake=False``, or a platform without
Unix sockets) it polls as before: empty fetches backing off from 1 to 25 ms.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from shulian_common.bus.base import (
    Bus,
    BusError,
    OutgoingMessage,
    Publisher,
    Record,
    Subscriber,
    TopicPartition,
)
from shulian_common.bus.local import groups, store
from shulian_common.wake import Waker, WakeSocket, wake_dir

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

# Without wake-ups poll() backs off between empty fetches; the cap bounds the added latency.
_MIN_BACKOFF = 0.001
_MAX_BACKOFF = 0.025
WAKE_CHANNEL = "log"  # the log's wake directory: <dir>/.wake/bus.db.log/
POLL_INTERVAL = 1.0  # seconds between a waiting member's fetches while wake-ups arrive


class _Db:
    """One SQLite connection driven from its own thread, so the event loop never blocks on I/O."""

    def __init__(self, path: Path, *, synchronous: str, busy_timeout: float) -> None:
        self._path = path
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    async def open(self) -> None:
        if self._conn is not None:
            return
        self._executor = self._executor or ThreadPoolExecutor(1, thread_name_prefix="shulian-bus")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await self._in_thread(
            store.connect,
            self._path,
            synchronous=self._synchronous,
            busy_timeout=self._busy_timeout,
        )

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        conn = self._conn
        if conn is None:
            raise BusError(f"local bus {self._path}: not started")
        return await self._in_thread(fn, conn, *args, **kwargs)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._in_thread(conn.close)
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def _in_thread(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._executor is None:
            raise BusError(f"local bus {self._path}: not started")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))
        except sqlite3.Error as exc:
            raise BusError(f"local bus {self._path}: {exc}") from exc


class LocalPublisher(Publisher):
    """Appends to the local log; ``publish`` returns once the batch is committed to disk."""

    def __init__(self, db: _Db, *, partitions: int, waker: Waker | None = None) -> None:
        self._db = db
        self._partitions = partitions
        self._waker = waker

    async def start(self) -> None:
        """Open the log file (creating it and its tables when new)."""
        await self._db.open()

    async def stop(self) -> None:
        """Close the log file."""
        await self._db.close()
        if self._waker is not None:
            self._waker.close()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        """Append ``messages`` in one transaction, in order; unknown topics are created."""
        if messages:
            await self._db.open()
            await self._db.run(self._append, messages)

    def _append(self, conn: sqlite3.Connection, messages: Sequence[OutgoingMessage]) -> None:
        store.append(conn, messages, self._partitions)
        if self._waker is not None:  # committed to disk: the members may read it now
            self._waker.wake()

    async def ping(self) -> None:
        """Raise ``BusError`` unless the log file can be read."""
        await self._db.open()
        await self._db.run(lambda conn: conn.execute("SELECT count(*) FROM topics").fetchone())


class LocalSubscriber(Subscriber):
    """One member of a consumer group on the local log.

    Members share each topic's partitions through leases (see ``groups``): ``poll`` heartbeats at
    least every ``session_timeout / 4``, and at once when the group changes, renewing this member's
    leases, releasing partitions above its fair share and taking free ones up to it. A member that
    does not poll for ``session_timeout`` loses its leases; others resume from the committed
    offsets. ``commit`` ignores, with a warning, partitions this member no longer leases: their
    new owner resumes from the last commit, so those records are redelivered, never lost.
    """

    def __init__(
        self,
        db: _Db,
        *,
        topics: Sequence[str],
        group_id: str,
        member_id: str,
        partitions: int,
        session_timeout: float,
        wake_directory: Path | None = None,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self._db = db
        self._topics = list(dict.fromkeys(topics))
        self._group = group_id
        self._me = member_id
        self._partitions = partitions
        self._session_timeout = session_timeout
        self._positions: dict[TopicPartition, int] = {}
        self._signature: tuple[int, int] | None = None
        self._seen_version: int | None = None
        self._last_heartbeat = 0.0
        self._group_changed = False
        self._rotation = 0
        self._paused: set[TopicPartition] = set()
        self._poll_interval = poll_interval
        self._woken = asyncio.Event()
        self._wake: WakeSocket | None = None
        self._waker: Waker | None = None
        if wake_directory is not None:
            self._wake = WakeSocket(wake_directory, self._woken.set)
            self._waker = Waker(wake_directory, skip=self._own_socket)

    def _own_socket(self) -> str | None:
        return None if self._wake is None else self._wake.name

    @property
    def listening(self) -> bool:
        """Whether this member's wake-up socket is bound (else it polls every few ms)."""
        return self._wake is not None and self._wake.listening

    async def start(self) -> None:
        """Join the group and take a fair share of the partitions."""
        await self._db.open()
        if self._wake is not None:
            self._wake.open()
        await self._heartbeat()

    async def stop(self) -> None:
        """Leave the group at once (its partitions are free for others) without committing."""
        if self._db.is_open:
            await self._db.run(groups.leave, group=self._group, me=self._me)
            self._wake_others()  # its partitions are free: the others may take them now
        await self._db.close()
        if self._wake is not None:
            self._wake.close()
        if self._waker is not None:
            self._waker.close()
        self._positions.clear()
        self._paused.clear()

    async def poll(
        self,
        *,
        timeout: float = 1.0,  # noqa: ASYNC109 - the Subscriber contract takes a timeout
        max_records: int = 500,
    ) -> list[Record]:
        """Wait up to ``timeout`` seconds for records of the owned partitions, in log order."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = _MIN_BACKOFF
        while True:
            if self._heartbeat_due():
                await self._heartbeat()
            self._woken.clear()  # before the fetch: a commit during it still ends the wait
            records = await self._fetch(max_records)
            remaining = deadline - loop.time()
            if records or remaining <= 0:
                return records
            if self._wake is not None and self._wake.open():
                wait = min(remaining, self._poll_interval, self._until_heartbeat())
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), timeout=wait)
            else:
                await asyncio.sleep(min(delay, remaining))
                delay = min(delay * 2, _MAX_BACKOFF)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit the next offset to read of partitions still leased; ignore the others."""
        if not offsets:
            return
        refused = await self._db.run(groups.commit, group=self._group, me=self._me, offsets=offsets)
        if refused:
            log.warning("commit ignored for partitions no longer owned: %s", refused)

    async def seek_to_committed(self, partitions: Sequence[TopicPartition]) -> None:
        """Rewind owned partitions to their committed offsets (or the start of the log)."""
        owned = [tp for tp in partitions if tp in self._positions]
        found = await self._db.run(store.committed, self._group, owned)
        for tp in owned:
            self._positions[tp] = found.get(tp, 0)
        self._seen_version = None

    async def lag(self) -> dict[TopicPartition, int]:
        """Log end minus this member's position, per leased partition (one query)."""
        positions = dict(self._positions)
        ends = await self._db.run(store.log_ends, list(positions))
        return {tp: max(0, ends[tp] - position) for tp, position in positions.items()}

    def assignment(self) -> set[TopicPartition]:
        """The partitions this member leases, as of its last heartbeat."""
        return set(self._positions)

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        """Skip ``partitions`` in polls until resumed; their positions stay where they are."""
        self._paused.update(partitions)

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        """Fetch ``partitions`` again from their positions."""
        self._paused.difference_update(partitions)
        # Records that arrived while paused are already behind the data version last seen.
        self._seen_version = None

    def _heartbeat_due(self) -> bool:
        return self._group_changed or time.time() - self._last_heartbeat > self._session_timeout / 4

    def _until_heartbeat(self) -> float:
        if self._group_changed:
            return 0.0
        return max(0.0, self._last_heartbeat + self._session_timeout / 4 - time.time())

    def _wake_others(self) -> None:
        if self._waker is not None:
            self._waker.wake()

    async def _heartbeat(self) -> None:
        if time.time() - self._last_heartbeat > self._session_timeout:
            # The session lapsed, so another member may have consumed meanwhile: like a Kafka
            # rejoin, every partition restarts from its committed offset.
            self._positions.clear()
        membership = await self._db.run(
            groups.heartbeat,
            group=self._group,
            me=self._me,
            topics=self._topics,
            partitions=self._partitions,
            session_timeout=self._session_timeout,
        )
        self._last_heartbeat = time.time()
        if membership.signature != self._signature:
            # Joined, took or released partitions: a member waiting on them must look now.
            self._wake_others()
        self._signature = membership.signature
        self._group_changed = False
        previous = self._positions
        owned = sorted(membership.owned, key=lambda tp: (tp.topic, tp.partition))
        self._positions = {tp: previous.get(tp, membership.committed.get(tp, 0)) for tp in owned}
        if self._positions.keys() != previous.keys():
            self._seen_version = None

    async def _fetch(self, max_records: int) -> list[Record]:
        positions = [(tp, p) for tp, p in self._positions.items() if tp not in self._paused]
        if positions:
            # Rotate the starting partition so that a busy one cannot starve the others.
            self._rotation = (self._rotation + 1) % len(positions)
            positions = positions[self._rotation :] + positions[: self._rotation]
        fetched = await self._db.run(
            store.fetch,
            group=self._group,
            positions=positions,
            max_records=max_records,
            seen_version=self._seen_version,
        )
        self._seen_version = fetched.version
        if fetched.signature is not None and fetched.signature != self._signature:
            self._group_changed = True
        for record in fetched.records:
            if record.tp in self._positions:
                self._positions[record.tp] = record.offset + 1
        for tp in fetched.beyond_end:
            # Like Kafka's auto_offset_reset=earliest on OffsetOutOfRange: read the partition's
            # new records from its start rather than wait for offsets that were already used.
            log.warning("%s: position past the log end (records removed); from the start", tp)
            if tp in self._positions:
                self._positions[tp] = 0
        return fetched.records


class LocalReader:
    """Reads the log's records straight from its file, a page per statement, outside any group.

    For a replay of whole partitions (a rebuild): no leases, no offsets committed, records
    returned raw (``store.RawRecord``); a group member's ``poll`` is the way to consume.
    """

    def __init__(self, db: _Db) -> None:
        self._db = db

    async def __aenter__(self) -> LocalReader:
        await self._db.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._db.close()

    async def log_ends(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        """The next offset to be written of every partition of ``topics`` (those that exist)."""
        counts = await self._db.run(store.partition_counts, list(topics))
        partitions = [TopicPartition(t, p) for t, count in counts.items() for p in range(count)]
        return await self._db.run(store.log_ends, partitions)

    async def read_range(
        self, topic: str, partition: int, from_offset: int, limit: int
    ) -> list[store.RawRecord]:
        """Up to ``limit`` raw records of one partition from ``from_offset`` on, in log order."""
        return await self._db.run(store.read_range, topic, partition, from_offset, limit)


class LocalBus(Bus):
    """The durable local log in the SQLite file at ``path``; records are kept forever.

    Any number of processes may share the file. Publishers write with ``synchronous=FULL``:
    ``publish`` returning is the relay's licence to mark outbox rows sent, so a batch must survive
    a power cut, not only a crash. Subscribers write just heartbeats and offsets, with
    ``synchronous=NORMAL`` (safe across process crashes, no fsync per commit): an offset lost to a
    power cut only means redelivery, which the inbox absorbs.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        partitions: int = 3,
        session_timeout: float = 10.0,
        busy_timeout: float = 30.0,
        wake: bool = True,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.path = Path(path)
        self.partitions = partitions
        self.session_timeout = session_timeout
        self.busy_timeout = busy_timeout
        # Members wait for publishers' wake-ups, polling every ``poll_interval`` as a fallback.
        self.wake_directory = wake_dir(self.path, WAKE_CHANNEL) if wake else None
        self.poll_interval = poll_interval

    def publisher(self) -> LocalPublisher:
        """A new publisher with its own connection."""
        waker = Waker(self.wake_directory) if self.wake_directory is not None else None
        return LocalPublisher(self._db("FULL"), partitions=self.partitions, waker=waker)

    def subscriber(
        self, *, topics: Sequence[str], group_id: str, client_id: str | None = None
    ) -> LocalSubscriber:
        """A new group member subscribed to ``topics`` (created when missing)."""
        return LocalSubscriber(
            self._db("NORMAL"),
            topics=topics,
            group_id=group_id,
            member_id=f"{client_id or 'member'}-{uuid.uuid4().hex[:12]}",
            partitions=self.partitions,
            session_timeout=self.session_timeout,
            wake_directory=self.wake_directory,
            poll_interval=self.poll_interval,
        )

    def reader(self) -> LocalReader:
        """A new bulk reader with its own connection (it writes nothing)."""
        return LocalReader(self._db("NORMAL"))

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the missing topics with the default partition count."""
        db = self._db("FULL")
        await db.open()
        try:
            await db.run(store.ensure_topics, list(topics), self.partitions)
        finally:
            await db.close()

    def _db(self, synchronous: str) -> _Db:
        return _Db(self.path, synchronous=synchronous, busy_timeout=self.busy_timeout)
