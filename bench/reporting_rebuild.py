"""Reporting's rebuild speed: registry events replayed into the projections, events per second.

    uv run python bench/reporting_rebuild.py [--events 100000] [--batch-size 1000]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB]

Publishes ``--events`` registry events shaped per the registry's contract (suppliers registered
and listed, parks, markets, stations, scenarios, pairings, platforms, with updates: about three
events per record) to a fresh local log, then times ``shulian reporting rebuild`` 's work
(``handlers.rebuild.rebuild``) both ways in the same run: the kit's consumer path (the baseline:
decode, reader-model validation, trust check, inbox row, version-gated upsert, per event) and the
bulk path (the default: one validation call per type and batch, no inbox, offsets per batch),
and prints both rates and their ratio. Without ``--database-url`` a fresh SQLite file is used.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from shulian_common.bus import bus_from_url
from shulian_common.bus.base import OutgoingMessage
from shulian_common.envelope import CloudEvent
from shulian_common.reference import cities
from shulian_common.settings import Environment
from shulian_reporting import testing as t
from shulian_reporting.handlers.rebuild import rebuild
from shulian_reporting.settings import ReportingSettings

CITIES = [city.code for city in cities()]
LEVELS = ["national", "provincial", "city", "county"]


def _record_events(i: int, rng: random.Random) -> list[tuple[str, CloudEvent]]:
    city = CITIES[i % len(CITIES)]
    at = t.T0 + timedelta(days=i % 700)
    rid = f"b{i:011d}"
    kind = i % 4
    if kind in (0, 1):  # half the records are suppliers: registered, listed, updated
        return [
            t.supplier(rid, city=city, at=at),
            t.supplier(rid, city=city, version=2, verb="listing_changed", status="listed",
                       decided_at=at, figures=[t.figure(2024, "headhunting", 100, 10)]),
            t.supplier(rid, city=city, version=3, verb="updated", status="listed", at=at),
        ]  # fmt: skip
    if kind == 2:
        level = rng.choice(LEVELS)
        return [
            t.park(rid, city=city, level=level, linked=i % 60, at=at),
            t.park(rid, city=city, level=level, linked=i % 70, version=2, at=at),
            t.station(f"{rid}s", city=city, kind="workstation", at=at),
        ]
    return [
        t.market(rid, city=city, kind="professional_market", level=rng.choice(LEVELS), at=at),
        t.scenario(f"{rid}c", city=city, supplier_id=rid, at=at),
        t.pairing(f"{rid}p", city=city, supplier_id=rid, at=at),
    ]


async def publish(settings: ReportingSettings, count: int) -> int:
    """Publish about ``count`` events; how many were published."""
    bus = bus_from_url(settings.resolved_bus_url, settings)
    publisher = bus.publisher()
    await publisher.start()
    rng = random.Random(20230920)
    published = i = 0
    batch: list[OutgoingMessage] = []
    while published < count:
        batch.extend(t.messages(_record_events(i, rng)))
        i += 1
        if len(batch) >= 5000 or published + len(batch) >= count:
            await publisher.publish(batch)
            published += len(batch)
            batch = []
    await publisher.stop()
    await bus.close()
    return published


async def main(events: int, batch_size: int, database_url: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="shulian-bench-reporting-"))
    settings = ReportingSettings(
        env=Environment.TEST,
        data_dir=tmp,
        database_url=database_url or f"sqlite+aiosqlite:///{tmp}/reporting.db",
        bus_url=f"local://{tmp}/bus.db",
        telemetry_enabled=False,
    )
    started = time.perf_counter()
    published = await publish(settings, events)
    print(f"published {published} events in {time.perf_counter() - started:.1f}s")
    backend = "PostgreSQL" if database_url else "SQLite"
    rates = {}
    for label, bulk in (("consumer (baseline)", False), ("bulk", True)):
        result = await rebuild(settings, batch_size=batch_size, bulk=bulk)
        rates[label] = result.rate
        print(
            f"rebuild, {label}: {result.events} events ({result.applied} applied) in "
            f"{result.seconds:.1f}s = {result.rate:,.0f} events/s (batch {batch_size}, "
            f"{backend}); rows {result.rows}"
        )
    print(f"bulk / consumer: {rates['bulk'] / rates['consumer (baseline)']:.1f}×")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.batch_size, args.database_url))
