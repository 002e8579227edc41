"""Reporting's rebuild speed: registry events replayed into the projections, events per second.

    uv run python bench/reporting_rebuild.py [--events 100000] [--batch-size 20000]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB] [--no-consumer]
        [--jobs 1,2] [--log DIR]

Publishes ``--events`` registry events shaped per the registry's contract (suppliers registered
and listed, parks, markets, stations, scenarios, pairings, platforms, with updates: about three
events per record) to a fresh local log, then times ``shulian reporting rebuild`` 's work
(``handlers.rebuild.rebuild``) both ways in the same run: the kit's consumer path (the baseline:
decode, reader-model validation, trust check, inbox row, version-gated upsert, per event) and the
bulk path (the default: the log read in raw pages, no inbox, one multi-row upsert per table and
page), and prints both rates and their ratio. The raw baseline is the log itself: every record
read in the same pages with nothing done to it, the ceiling of any replay, measured in the same
run. ``--no-consumer`` leaves the consumer path out (a million events take it 20 minutes or
more); the wall-clock rates are printed with the CPU time of the process (all its threads) and
the load average, since the machine may be shared. Without ``--database-url`` a fresh SQLite
file is used. ``--jobs`` lists the process counts of the bulk path to time, one after the other
in the same run (default: one, then one per CPU); ``--log DIR`` keeps the published log in DIR
and reuses it when it is already there with the same number of events (publishing a million
takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from shulian_common.bus import bus_from_url
from shulian_common.bus.base import OutgoingMessage
from shulian_common.bus.local import LocalBus
from shulian_common.envelope import CloudEvent
from shulian_common.reference import cities
from shulian_common.settings import Environment
from shulian_reporting import testing as t
from shulian_reporting.consumers import projection_subscriptions
from shulian_reporting.handlers.rebuild import rebuild
from shulian_reporting.settings import ReportingSettings

CITIES = [city.code for city in cities()]
TOPICS = [sub.topic for sub in projection_subscriptions()]
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


async def raw_read(bus_path: Path, page: int) -> int:
    """Read every record of the log in pages of ``page``, doing nothing with them; how many."""
    read = 0
    async with LocalBus(bus_path).reader() as reader:
        for tp, end in (await reader.log_ends(TOPICS)).items():
            for start in range(0, end, page):
                read += len(await reader.read_range(tp.topic, tp.partition, start, page))
    return read


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


async def main(
    events: int,
    batch_size: int,
    database_url: str | None,
    consumer: bool,
    jobs: list[int],
    log: Path | None,
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="shulian-bench-reporting-"))
    logs = log or tmp
    logs.mkdir(parents=True, exist_ok=True)
    settings = ReportingSettings(
        env=Environment.TEST,
        data_dir=tmp,
        database_url=database_url or f"sqlite+aiosqlite:///{tmp}/reporting.db",
        bus_url=f"local://{logs}/bus.db",
        telemetry_enabled=False,
    )
    marker = logs / "published"
    if marker.exists() and int(marker.read_text().split()[0]) == events:
        published = int(marker.read_text().split()[1])
        print(f"reusing the log in {logs}: {published} events")
    else:
        (logs / "bus.db").unlink(missing_ok=True)
        started = time.perf_counter()
        published = await publish(settings, events)
        marker.write_text(f"{events} {published}")
        print(f"published {published} events in {time.perf_counter() - started:.1f}s")
    backend = "PostgreSQL" if database_url else "SQLite"
    started, cpu = time.perf_counter(), time.process_time()
    read = await raw_read(logs / "bus.db", batch_size)
    seconds = time.perf_counter() - started
    rates = {"raw log read": read / seconds}
    print(
        f"raw log read (baseline): {read} records in {seconds:.1f}s = "
        f"{rates['raw log read']:,.0f} records/s (CPU {time.process_time() - cpu:.1f}s); {_load()}"
    )
    paths = [("consumer (baseline)", False, 1)] if consumer else []
    paths += [(f"bulk, {n} process{'es' if n > 1 else ''}", True, n) for n in jobs]
    for label, bulk, n in paths:
        cpu = _cpu()
        result = await rebuild(settings, batch_size=batch_size, bulk=bulk, jobs=n)
        cpu = _cpu() - cpu + result.worker_cpu
        rates[label] = result.rate
        print(
            f"rebuild, {label}: {result.events} events ({result.applied} applied) in "
            f"{result.seconds:.1f}s = {result.rate:,.0f} events/s (batch {batch_size}, "
            f"{backend}; CPU {cpu:.1f}s = {result.events / cpu:,.0f} events per CPU-second); "
            f"rows {result.rows}; {_load()}"
        )
    for label, _bulk, _n in paths[1 if consumer else 0 :]:
        if consumer:
            print(f"{label} / consumer: {rates[label] / rates['consumer (baseline)']:.1f}×")
        print(f"{label} / raw log read: {rates[label] / rates['raw log read']:.2f}×")


def _cpu() -> float:
    """CPU seconds of this process (all its threads; a parallel rebuild's workers report theirs)."""
    return time.process_time()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--no-consumer", action="store_true", help="bulk path only")
    parser.add_argument(
        "--jobs",
        default=f"1,{os.cpu_count() or 1}",
        help="comma-separated process counts of the bulk path, timed in turn (default 1,CPUs)",
    )
    parser.add_argument("--log", type=Path, help="keep (and reuse) the published log here")
    args = parser.parse_args()
    jobs = [int(n) for n in args.jobs.split(",")]
    asyncio.run(
        main(args.events, args.batch_size, args.database_url, not args.no_consumer, jobs, args.log)
    )
