"""Grab decisions under contention: 1,000 grabs of one order from three nodes at once.

    uv run python bench/matching_grabs.py [--grabs 1000] [--slots 10] [--database-url URL ...]

Three matching nodes (Yibin owns the order; Chengdu and Leshan) run in-process on one local log,
each on its own database (SQLite files by default; pass three PostgreSQL URLs to use those). All
grabs are posted concurrently, then the nodes are drained. Printed:
- decision time: the owner's time per decision (gaps between consecutive ``decided_at`` of the
  serial decider: consume, lock the order, decide, write, inbox and outbox, commit), p50/p99;
- request → decision: from a grab's ``requested_at`` to its ``decided_at``, p50/p99, which with
  1,000 grabs arriving at once is dominated by the queue ahead of each grab;
- the award count (must equal the slots).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

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
    decided = [r.decided_at for r in rows if r.decided_at is not None]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(decided)]
    waits = [(r.decided_at - r.requested_at).total_seconds() for r in rows if r.decided_at]
    backend = "postgresql" if urls else "sqlite"
    print(f"matching grabs: {grabs} grabs from 3 nodes, {slots} slots, {backend}, local log")
    print(f"  outcomes: {dict(found)} (awards must equal slots: {found['awarded'] == slots})")
    print(f"  decision time     p50 {pct(gaps, 0.5):7.2f} ms  p99 {pct(gaps, 0.99):7.2f} ms")
    print(f"  request→decision  p50 {pct(waits, 0.5):7.1f} ms  p99 {pct(waits, 0.99):7.1f} ms")
    print(f"  mean decision {statistics.mean(gaps) * 1000:.2f} ms; wall {wall:.1f} s incl. relay")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grabs", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--database-url", nargs=3, default=None, metavar="URL")
    args = parser.parse_args()
    asyncio.run(run(args.grabs, args.slots, args.database_url))


if __name__ == "__main__":
    main()
