"""Grab decisions under contention: 1,000 grabs of one order from three nodes at once.

    uv run python bench/matching_grabs.py [--grabs 1000] [--slots 10] [--database-url URL ...]

Three matching nodes (Yibin owns the order; Chengdu and Leshan) run in-process on one local log,
each on its own database (SQLite files by default; pass three PostgreSQL URLs to use those). All
grabs are posted concurrently, then the nodes are drained. Printed:
- decision time: the owner's time per decision (gaps between consecutive ``decided_at`` of the
  serial decider: consume, lock the order, decide, write, inbox and outbox, commit), p50/p99.
  The owner decides up to ``consumer_batch_size`` commands in one transaction from bulk reads,
  so most gaps are one in-memory decision and about one in ``consumer_batch_size`` spans a batch
  boundary (the commit of the last batch, the next poll, its bulk reads): with 1,000 grabs and
  batches of 100 the p99 is such a gap; the mean is the cost per decision with everything;
- request → decision: from a grab's ``requested_at`` to its ``decided_at``, p50/p99, which with
  1,000 grabs arriving at once is dominated by the queue ahead of each grab;
- the award count (must equal the slots);
- the raw baseline, measured in the same run on the owner's database: hand-written transactions
  doing the least a decision writes (read the order, insert a grab row, update the order, one
  commit each), p50/p99, and the ratio of the decision time to it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.testing.postgres import sqlite_url
from shulian_matching.orm import Grab
from shulian_matching.testing import (
    CHENGDU,
    LESHAN,
    YIBIN,
    grab_storm,
    matching_settings_for,
    outcomes,
    place,
    running,
    service_order,
)


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(grabs: int, slots: int, urls: list[str] | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cities = (YIBIN, CHENGDU, LESHAN)
        for city in cities:
            (root / city).mkdir()
        dbs = urls or [sqlite_url(root / city) for city in cities]
        settings = [
            matching_settings_for(db, root, city, log_level="WARNING")
            for db, city in zip(dbs, cities, strict=True)
        ]
        async with (
            running(settings[0]) as yibin,
            running(settings[1]) as chengdu,
            running(settings[2]) as leshan,
        ):
            nodes = {YIBIN: yibin, CHENGDU: chengdu, LESHAN: leshan}
            order = await place(yibin, service_order(visibility="province", slots=slots), YIBIN)
            await yibin.drain(chengdu, leshan)
            started = time.perf_counter()
            asked = await grab_storm(nodes, order["id"], grabs, drain_within=600)
            await yibin.drain(chengdu, leshan, timeout=600)
            wall = time.perf_counter() - started
            found = Counter(status for status, _ in await outcomes(nodes, asked))
            async with yibin.runtime.engine.connect() as connection:
                rows = (
                    await connection.execute(
                        select(Grab.requested_at, Grab.decided_at).order_by(Grab.seq)
                    )
                ).all()
            raw = await raw_decisions(yibin.runtime.engine, order["id"], RAW_DECISIONS)
    decided = [r.decided_at for r in rows if r.decided_at is not None]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(decided)]
    waits = [(r.decided_at - r.requested_at).total_seconds() for r in rows if r.decided_at]
    backend = "postgresql" if urls else "sqlite"
    batch = settings[0].consumer_batch_size
    print(
        f"matching grabs: {grabs} grabs from 3 nodes, {slots} slots, {backend}, local log,"
        f" consumer batches of up to {batch}; load average {_load()}"
    )
    print(f"  outcomes: {dict(found)} (awards must equal slots: {found['awarded'] == slots})")
    print(f"  decision time     p50 {pct(gaps, 0.5):7.2f} ms  p99 {pct(gaps, 0.99):7.2f} ms")
    print(f"  request→decision  p50 {pct(waits, 0.5):7.1f} ms  p99 {pct(waits, 0.99):7.1f} ms")
    print(f"  mean decision {statistics.mean(gaps) * 1000:.2f} ms; wall {wall:.1f} s incl. relay")
    r50, r99 = pct(raw, 0.5), pct(raw, 0.99)
    print(
        f"  raw baseline      p50 {r50:7.2f} ms  p99 {r99:7.2f} ms"
        f"  ({len(raw)} hand-written transactions: read the order, insert a grab, update the order)"
    )
    print(f"  decision/raw      p50 {pct(gaps, 0.5) / r50:.2f}×  p99 {pct(gaps, 0.99) / r99:.2f}×")


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


RAW_DECISIONS = 200
_RAW_GRAB = text(
    "INSERT INTO grabs (id, order_id, order_owner_node, supplier_id, requester_node,"
    " terms_version, status, reason, seq, requested_at, decided_at, confirm_by, version)"
    " VALUES (:id, :order_id, :owner, :supplier, :owner, 1, 'rejected', 'no_slot_left', :seq,"
    " :now, :now, NULL, 1)"
)


async def raw_decisions(engine: AsyncEngine, order_id: str, count: int) -> list[float]:
    """The raw baseline, on the owner's database after the storm: ``count`` hand-written
    transactions each doing the least a decision writes (read the order, insert the grab row,
    touch the order), one commit each; seconds each."""
    times = []
    for i in range(count):
        now = datetime.now(UTC)
        values = {
            "id": uuid.uuid4().hex,
            "order_id": order_id,
            "owner": YIBIN,
            "supplier": uuid.uuid4().hex,
            "seq": 100_000 + i,
            "now": now,
        }
        started = time.perf_counter()
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT version, awarded_count FROM orders WHERE id = :id"), {"id": order_id}
            )
            await connection.execute(_RAW_GRAB, values)
            await connection.execute(
                text("UPDATE orders SET updated_at = :now WHERE id = :id"),
                {"now": now, "id": order_id},
            )
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grabs", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--database-url", nargs=3, default=None, metavar="URL")
    args = parser.parse_args()
    asyncio.run(run(args.grabs, args.slots, args.database_url))


if __name__ == "__main__":
    main()
