"""The demo year: believable activities over the 21 cities, yearly targets met in some cities
and missed in others, seeded once through the handlers (so every activity published events)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select

from shulian_common.db import create_engine, create_session_factory
from shulian_common.reference import cities
from shulian_events.demo import NO_CITY_FAIR, seed_demo
from shulian_events.orm import Activity
from shulian_events.testing import events_settings_for


async def test_the_demo_year_meets_some_targets_and_misses_others(tmp_path: Path) -> None:
    settings = events_settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", tmp_path, "510000"
    )

    seeded = await seed_demo(settings)
    again = await seed_demo(settings)

    assert again == 0
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_session_factory(engine)() as session:
            rows = list(await session.scalars(select(Activity)))
    finally:
        await engine.dispose()
    assert len(rows) == seeded > 250
    live = [r for r in rows if r.status != "cancelled"]
    assert {r.status for r in live} == {"completed"}  # the demo year is past
    kinds = Counter(r.kind for r in live)
    assert kinds["province_fair"] >= 2  # province target: ≥ 2 a year
    assert kinds["recruitment"] >= 200  # province target: ≥ 200 key-industry sessions
    fairs = Counter(r.city_code for r in live if r.kind == "city_fair")
    missing = {c.code for c in cities()} - set(fairs)
    assert missing >= NO_CITY_FAIR  # these cities miss "each city ≥ 1 fair a year"
    assert len(fairs) >= 15  # and most meet it
    assert {r.city_code for r in rows if r.city_code} == {c.code for c in cities()}
    assert any(r.rrule for r in rows)
    assert all(r.outcome and r.outcome["firms_participated"] > 0 for r in live)
    hr_managers = sum(r.outcome["hr_managers_attended"] for r in live if r.outcome)
    assert hr_managers > 0
