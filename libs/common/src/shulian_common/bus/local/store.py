"""The local log's schema and synchronous SQL (append, fetch, offsets), run off the event loop."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shulian_common.bus.base import OutgoingMessage, Record, TopicPartition, partition_for

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS topics (
        name TEXT PRIMARY KEY, partitions INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS records (
        topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
        key BLOB, value BLOB, headers TEXT NOT NULL, timestamp_ms INTEGER NOT NULL,
        PRIMARY KEY (topic, partition, offset))""",
    """CREATE TABLE IF NOT EXISTS committed_offsets (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
        next_offset INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS members (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, member_id TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (group_id, topic, member_id)) WITHOUT ROWID""",
    # A lease row exists only while its owner holds the partition; expired rows are deleted by
    # whichever member heartbeats next, so "no live row" and "free" mean the same thing.
    """CREATE TABLE IF NOT EXISTS leases (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
        owner TEXT NOT NULL, expires_at REAL NOT NULL,
        PRIMARY KEY (group_id, topic, partition)) WITHOUT ROWID""",
)


@dataclass(frozen=True, slots=True)
class Fetched:
    """One fetch: the data version it saw, the group signature, the records.

    ``beyond_end`` lists the partitions whose position was past their log end: their records
    were removed (a wiped topic), so nothing would ever be read from there again.
    """

    version: int | None
    signature: tuple[int, int] | None
    records: list[Record]
    beyond_end: list[TopicPartition] = field(default_factory=list)


def encode_headers(headers: Sequence[tuple[str, bytes | None]]) -> str:
    """Headers as JSON text; ``surrogateescape`` keeps non-UTF-8 bytes exact and UTF-8 readable.

    A null value (Kafka allows them) stays null.
    """
    return json.dumps(
        [
            [name, None if value is None else value.decode("utf-8", "surrogateescape")]
            for name, value in headers
        ]
    )


def decode_headers(text: str) -> list[tuple[str, bytes | None]]:
    """The inverse of ``encode_headers``."""
    return [
        (name, None if value is None else value.encode("utf-8", "surrogateescape"))
        for name, value in json.loads(text)
    ]


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that holds the write lock from its start."""
    # IMMEDIATE: a deferred transaction that reads and then writes fails with
    # SQLITE_BUSY_SNAPSHOT, without busy-waiting, when another process committed in between.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def connect(path: Path, *, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    """Open the log file in WAL mode, creating its tables when new."""
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    with write(conn):
        for statement in SCHEMA:
            conn.execute(statement)
    return conn


def ensure_topic(conn: sqlite3.Connection, topic: str, partitions: int) -> int:
    """Create ``topic`` unless it exists; return its partition count."""
    conn.execute(
        "INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)", (topic, partitions)
    )
    row = conn.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
    return int(row[0])


def ensure_topics(conn: sqlite3.Connection, topics: Sequence[str], partitions: int) -> None:
    """Create the missing ones of ``topics`` in one transaction."""
    with write(conn):
        for topic in topics:
            ensure_topic(conn, topic, partitions)


def _log_end(conn: sqlite3.Connection, topic: str, partition: int) -> int:
    row = conn.execute(
        "SELECT offset FROM records WHERE topic=? AND partition=? ORDER BY offset DESC LIMIT 1",
        (topic, partition),
    ).fetchone()
    return 0 if row is None else int(row[0]) + 1


def log_ends(
    conn: sqlite3.Connection, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """The next offset to be written of each of ``partitions``, in one statement."""
    if not partitions:
        return {}
    # A correlated max() per partition is one seek on the primary key; a GROUP BY over the
    # records would scan the whole history, which is never deleted.
    owned = ", ".join("(?, ?)" for _ in partitions)
    rows = conn.execute(
        f"WITH owned (topic, partition) AS (VALUES {owned})"
        " SELECT topic, partition, (SELECT max(r.offset) FROM records r"
        " WHERE r.topic = owned.topic AND r.partition = owned.partition) FROM owned",
        [value for tp in partitions for value in (tp.topic, tp.partition)],
    )
    return {TopicPartition(t, p): 0 if last is None else int(last) + 1 for t, p, last in rows}


def append(
    conn: sqlite3.Connection, messages: Sequence[OutgoingMessage], default_partitions: int
) -> None:
    """Append a batch in one transaction; offsets are contiguous per partition."""
    now_ms = time.time_ns() // 1_000_000
    # Encode before taking the write lock: other processes wait for it only as long as needed.
    encoded = [(m.topic, m.key, m.value, encode_headers(m.headers)) for m in messages]
    with write(conn):
        counts = {t: ensure_topic(conn, t, default_partitions) for t in {m.topic for m in messages}}
        next_offset: dict[tuple[str, int], int] = {}
        rows = []
        for topic, key, value, headers in encoded:
            tp = (topic, partition_for(key, counts[topic]))
            offset = next_offset[tp] if tp in next_offset else _log_end(conn, *tp)
            next_offset[tp] = offset + 1
            rows.append((*tp, offset, key.encode(), value, headers, now_ms))
        conn.executemany(
            "INSERT INTO records (topic, partition, offset, key, value, headers, timestamp_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def signature(conn: sqlite3.Connection, group: str) -> tuple[int, int]:
    """Member and lease counts: when they change, a rebalance may be waiting on this member."""
    members = conn.execute("SELECT count(*) FROM members WHERE group_id=?", (group,)).fetchone()
    leases = conn.execute("SELECT count(*) FROM leases WHERE group_id=?", (group,)).fetchone()
    return int(members[0]), int(leases[0])


def committed(
    conn: sqlite3.Connection, group: str, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """The committed next offsets of ``partitions`` that have one."""
    found = {}
    for tp in partitions:
        row = conn.execute(
            "SELECT next_offset FROM committed_offsets"
            " WHERE group_id=? AND topic=? AND partition=?",
            (group, tp.topic, tp.partition),
        ).fetchone()
        if row is not None:
            found[tp] = int(row[0])
    return found


def fetch(
    conn: sqlite3.Connection,
    *,
    group: str,
    positions: Sequence[tuple[TopicPartition, int]],
    max_records: int,
    seen_version: int | None,
) -> Fetched:
    """Records from each position, unless no other connection has committed since last time."""
    version = int(conn.execute("PRAGMA data_version").fetchone()[0])
    if version == seen_version:
        return Fetched(version, None, [])
    records: list[Record] = []
    beyond_end: list[TopicPartition] = []
    for tp, position in positions:
        limit = max_records - len(records)
        if limit <= 0:
            break
        rows = conn.execute(
            "SELECT offset, key, value, headers, timestamp_ms FROM records"
            " WHERE topic=? AND partition=? AND offset>=? ORDER BY offset LIMIT ?",
            (tp.topic, tp.partition, position, limit),
        ).fetchall()
        records.extend(
            Record(tp.topic, tp.partition, o, k, v, decode_headers(h), ts)
            for o, k, v, h, ts in rows
        )
        if not rows and position > 0 and _log_end(conn, tp.topic, tp.partition) < position:
            beyond_end.append(tp)
    # A full batch may have left records behind, so the next fetch must not be skipped.
    seen = None if len(records) >= max_records or beyond_end else version
    return Fetched(seen, signature(conn, group), records, beyond_end)


# (key, value, headers as ``encode_headers`` JSON text, offset, timestamp_ms): one record of a
# bulk read.
RawRecord = tuple[bytes | None, bytes | None, str, int, int]


def partition_counts(conn: sqlite3.Connection, topics: Sequence[str]) -> dict[str, int]:
    """The partition count of each of ``topics`` that exists."""
    found = {}
    for topic in topics:
        row = conn.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
        if row is not None:
            found[topic] = int(row[0])
    return found


def read_range(
    conn: sqlite3.Connection, topic: str, partition: int, from_offset: int, limit: int
) -> list[RawRecord]:
    """Up to ``limit`` records of one partition from ``from_offset`` on, raw, in one statement.

    No group, no lease, no header decoding: for a replay that reads the whole log (a rebuild)
    and decodes only what it needs.
    """
    return conn.execute(
        "SELECT key, value, headers, offset, timestamp_ms FROM records"
        " WHERE topic=? AND partition=? AND offset>=? ORDER BY offset LIMIT ?",
        (topic, partition, from_offset, limit),
    ).fetchall()
