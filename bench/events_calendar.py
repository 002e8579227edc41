"""Calendar feed: ``GET /v1/calendar.ics`` over a year of the province's activities.

    uv run python bench/events_calendar.py [--database-url URL] [--requests 30] [--year 2025]

Seeds the demo year (every city, through the handlers) on the province node — on SQLite by
default, or on the PostgreSQL of ``--database-url`` — then times the whole-province feed, a city's
feed and one kind's feed through the app in-process (``httpx.ASGITransport``: no sockets), and
prints p50/p99 per feed with its size and event count. The first request of each feed is a
warm-up and not counted.

Beside each feed, in the same run on the same database, the raw floor: the same rows read with
one SQLAlchemy Core statement on the engine (no HTTP, no authentication, no ORM session) and
spliced by the same renderer (its per-version VEVENT cache warm, as the app's is), with the
ratio app / raw; and, for scale, the same rows rendered with the cache emptied before each
request (what every request cost before the cache: icalendar building each VEVENT).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from icalendar import Calendar

sys.path.insert(0, str(Path(__file__).parent))
from _db import postgres_database

from shulian_common.testing.node import ServiceNode, node_settings, run_node
from shulian_events import ical, repository
from shulian_events.demo import seed_demo
from shulian_events.main import create_app
from shulian_events.settings import EventsSettings

FEEDS = {
    "province": {},
    "city 510100": {"city": "510100"},
    "kind recruitment": {"kind": "recruitment"},
}
FILTERS = {
    "province": repository.ActivityFilter(),
    "city 510100": repository.ActivityFilter(city_code="510100"),
    "kind recruitment": repository.ActivityFilter(kind="recruitment"),
}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(database_url: str | None, requests: int, year: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'events.db'}"
        if database_url is not None:  # a database of this run's own on that server
            fresh = await postgres_database(database_url)
            if fresh is None:
                return
            url = fresh
        settings = node_settings(
            EventsSettings,
            database_url=url,
            tmp_path=Path(tmp),
            demo_year=year,
            log_level="WARNING",
        )
        started = time.perf_counter()
        seeded = await seed_demo(settings)
        print(f"seeded {seeded} activities of {year} in {time.perf_counter() - started:.1f} s")
        async with run_node(create_app, settings) as node:
            await node.stop_workers()
            print(
                f"{'feed':<18}{'events':>8}{'bytes':>10}{'p50 ms':>9}{'p99 ms':>9}"
                f"{'raw p50':>9}{'raw p99':>9}{'ratio p50':>10}{'uncached p50':>14}"
            )
            for name, params in FEEDS.items():
                times: list[float] = []
                body = b""
                for n in range(requests + 1):
                    t0 = time.perf_counter()
                    response = await node.client.get(
                        "/v1/calendar.ics", params=params, headers=node.province
                    )
                    elapsed = (time.perf_counter() - t0) * 1000
                    assert response.status_code == 200, response.text
                    body = response.content
                    if n:
                        times.append(elapsed)
                raw, raw_body = await _raw(node, FILTERS[name], requests, cached=True)
                uncached, _ = await _raw(node, FILTERS[name], max(3, requests // 5), cached=False)
                assert raw_body == body, "the raw floor must produce the same feed"
                events = len(Calendar.from_ical(body).walk("VEVENT"))
                p50, raw_p50 = statistics.median(times), statistics.median(raw)
                print(
                    f"{name:<18}{events:>8}{len(body):>10}{p50:>9.1f}{percentile(times, 99):>9.1f}"
                    f"{raw_p50:>9.1f}{percentile(raw, 99):>9.1f}{p50 / raw_p50:>10.2f}"
                    f"{statistics.median(uncached):>14.1f}"
                )


async def _raw(
    node: ServiceNode[EventsSettings],
    where: repository.ActivityFilter,
    requests: int,
    *,
    cached: bool,
) -> tuple[list[float], bytes]:
    """The floor: one Core statement on the engine, the rows spliced by the same renderer."""
    times: list[float] = []
    body = b""
    for n in range(requests + 1):
        if not cached:
            ical._CACHE.clear()
        t0 = time.perf_counter()
        async with node.runtime.engine.connect() as connection:
            rows = await repository.activity_rows(connection, where, after=None, limit=1_000_000)
        body = ical.calendar(rows, name="四川人力资源服务活动日历")
        if n:
            times.append((time.perf_counter() - t0) * 1000)
    return times, body


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--year", type=int, default=2025)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.requests, args.year))
