"""Consumer groups on the local log: partition leases, fair shares, and lease-checked commits.

Every member of a group subscribed to a topic has a ``members`` row; a partition belongs to the
member holding its ``leases`` row. Both expire ``session_timeout`` after the member's last
heartbeat. A heartbeat is one write transaction, so members in different processes see each
other's moves atomically and two of them never hold one partition.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from shulian_common.bus.base import TopicPartition
from shulian_common.bus.local.store import committed, ensure_topic, signature, write


@dataclass(frozen=True, slots=True)
class Membership:
    """What one heartbeat left a member with."""

    owned: frozenset[TopicPartition]
    committed: dict[TopicPartition, int]
    signature: tuple[int, int]


def fair_share(partitions: int, members: Sequence[str], held: Counter[str], me: str) -> int:
    """``ceil(partitions / members)``, or the floor while another member is below the floor."""
    floor, extra = divmod(partitions, len(members))
    # Without the floor rule, 4 partitions over 3 members could settle as 2/2/0.
    starving = any(held[m] < floor for m in members if m != me)
    return floor + 1 if extra and not starving else floor


def _balance(
    conn: sqlite3.Connection, *, group: str, topic: str, me: str, partitions: int, expires_at: float
) -> list[int]:
    """Release or take partitions of ``topic`` towards this member's fair share."""
    key = (group, topic)
    members = [
        row[0]
        for row in conn.execute("SELECT member_id FROM members WHERE group_id=? AND topic=?", key)
    ]
    owners: dict[int, str] = dict(
        conn.execute("SELECT partition, owner FROM leases WHERE group_id=? AND topic=?", key)
    )
    share = fair_share(partitions, members, Counter(owners.values()), me)
    mine = sorted(p for p, owner in owners.items() if owner == me)
    if len(mine) > share:
        conn.executemany(
            "DELETE FROM leases WHERE group_id=? AND topic=? AND partition=? AND owner=?",
            [(*key, p, me) for p in mine[share:]],
        )
        return mine[:share]
    taken = [p for p in range(partitions) if p not in owners][: share - len(mine)]
    conn.executemany(
        "INSERT INTO leases (group_id, topic, partition, owner, expires_at) VALUES (?, ?, ?, ?, ?)",
        [(*key, p, me, expires_at) for p in taken],
    )
    return mine + taken


def _join(conn: sqlite3.Connection, *, group: str, topic: str, me: str, expires_at: float) -> None:
    conn.execute(
        "INSERT INTO members (group_id, topic, member_id, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (group_id, topic, member_id) DO UPDATE SET expires_at=excluded.expires_at",
        (group, topic, me, expires_at),
    )


def heartbeat(
    conn: sqlite3.Connection,
    *,
    group: str,
    me: str,
    topics: Sequence[str],
    partitions: int,
    session_timeout: float,
) -> Membership:
    """Renew this member and its leases, drop expired ones, and rebalance each topic."""
    now = time.time()
    expires_at = now + session_timeout
    with write(conn):
        conn.execute("DELETE FROM members WHERE group_id=? AND expires_at<=?", (group, now))
        conn.execute("DELETE FROM leases WHERE group_id=? AND expires_at<=?", (group, now))
        conn.execute(
            "UPDATE leases SET expires_at=? WHERE group_id=? AND owner=?", (expires_at, group, me)
        )
        owned: set[TopicPartition] = set()
        for topic in topics:
            _join(conn, group=group, topic=topic, me=me, expires_at=expires_at)
            count = ensure_topic(conn, topic, partitions)
            taken = _balance(
                conn, group=group, topic=topic, me=me, partitions=count, expires_at=expires_at
            )
            owned.update(TopicPartition(topic, p) for p in taken)
        return Membership(frozenset(owned), committed(conn, group, owned), signature(conn, group))


def leave(conn: sqlite3.Connection, *, group: str, me: str) -> None:
    """Drop this member and free its partitions at once."""
    with write(conn):
        conn.execute("DELETE FROM members WHERE group_id=? AND member_id=?", (group, me))
        conn.execute("DELETE FROM leases WHERE group_id=? AND owner=?", (group, me))


def commit(
    conn: sqlite3.Connection, *, group: str, me: str, offsets: dict[TopicPartition, int]
) -> list[TopicPartition]:
    """Store the offsets of partitions this member still leases; return the refused ones."""
    now = time.time()
    refused = []
    with write(conn):
        for tp, offset in offsets.items():
            if not _holds(conn, group=group, me=me, tp=tp, now=now):
                refused.append(tp)
                continue
            conn.execute(
                "INSERT INTO committed_offsets (group_id, topic, partition, next_offset)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (group_id, topic, partition)"
                " DO UPDATE SET next_offset=excluded.next_offset",
                (group, tp.topic, tp.partition, offset),
            )
    return refused


def _holds(
    conn: sqlite3.Connection, *, group: str, me: str, tp: TopicPartition, now: float
) -> bool:
    row = conn.execute(
        "SELECT 1 FROM leases WHERE group_id=? AND topic=? AND partition=? AND owner=?"
        " AND expires_at>?",
        (group, tp.topic, tp.partition, me, now),
    ).fetchone()
    return row is not None
