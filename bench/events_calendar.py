"""Calendar feed: ``GET /v1/calendar.ics`` over a year of the province's activities.

    uv run python bench/events_calendar.py [--database-url URL] [--requests 30] [--year 2025]

Seeds the demo year (every city, through the handlers) on the province node — on SQLite by
default, or on the PostgreSQL of ``--database-url`` — then times the whole-province feed, a city's
feed and one kind's feed through the app in-process (``httpx.ASGITransport``: no sockets), and
prints p50/p99 per feed with its size and event count. The first request of each feed is a
warm-up and not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from icalendar import Calendar

from shulian_common.testing.node import node_settings, run_node
from shulian_events.demo import seed_demo
from shulian_events.main import create_app
from shulian_events.settings import EventsSettings

FEEDS = {
    "province": {},
    "city 510100": {"city": "510100"},
    "kind recruitment": {"kind": "recruitment"},
}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(database_url: str | None, requests: int, year: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'events.db'}"
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
            print(f"{'feed':<18}{'events':>8}{'bytes':>10}{'p50 ms':>9}{'p99 ms':>9}")
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
                events = len(Calendar.from_ical(body).walk("VEVENT"))
                print(
                    f"{name:<18}{events:>8}{len(body):>10}"
                    f"{statistics.median(times):>9.1f}{percentile(times, 99):>9.1f}"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--year", type=int, default=2025)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.requests, args.year))
