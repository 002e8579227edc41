"""The demo year: believable activities over the 21 cities, yearly targets met in some cities
and missed in others, seeded once through the handlers (so every activity published events)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from shulian_common.db import create_engine, create_session_factory
from shulian_common.reference import PROVINCE_CODE, cities, in_scope, is_industry
from shulian_common.testing.node import node_settings
from shulian_events.demo import (
    DEMO_SEED,
    INDUSTRIES,
    NO_CITY_FAIR,
    demo_owner,
    plans,
    seed_demo,
)
from shulian_events.orm import Activity
from shulian_events.settings import EventsSettings
from shulian_events.testing import events_settings_for

CHENGDU = "510100"


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


async def test_beside_a_chengdu_node_the_province_leaves_chengdu_to_it(tmp_path: Path) -> None:
    """``shulian up --nodes 510000,510100`` (SHULIAN_DEMO_NODES): each node seeds what it
    governs most specifically, so the two hold the province's demo year once between them."""
    held: dict[str, list[Activity]] = {}
    for node in (PROVINCE_CODE, CHENGDU):
        settings = node_settings(
            EventsSettings,
            database_url=f"sqlite+aiosqlite:///{tmp_path / f'{node}.db'}",
            tmp_path=tmp_path,
            node=node,
            demo_nodes=f"{PROVINCE_CODE},{CHENGDU}",
        )
        assert await seed_demo(settings) > 0
        engine = create_engine(settings.resolved_database_url)
        try:
            async with create_session_factory(engine)() as session:
                held[node] = list(await session.scalars(select(Activity)))
        finally:
            await engine.dispose()

    planned = plans(EventsSettings(env="test").demo_year, random.Random(DEMO_SEED))
    in_chengdu = [p for p in planned if in_scope(CHENGDU, p.fields["division_code"])]
    assert in_chengdu  # Chengdu and its districts hold activities in the demo year
    assert all(in_scope(CHENGDU, a.division_code) for a in held[CHENGDU])
    assert all(a.owner_node == CHENGDU for a in held[CHENGDU])
    assert not any(in_scope(CHENGDU, a.division_code) for a in held[PROVINCE_CODE])
    assert len(held[CHENGDU]) == len(in_chengdu)
    assert len(held[PROVINCE_CODE]) + len(held[CHENGDU]) == len(planned)


def test_the_most_specific_node_seeds_a_division() -> None:
    network = [PROVINCE_CODE, CHENGDU, "510104"]  # the province, Chengdu, Jinjiang district
    assert demo_owner(network, "510104") == "510104"
    assert demo_owner(network, "510105") == CHENGDU
    assert demo_owner(network, CHENGDU) == CHENGDU
    assert demo_owner(network, "511500") == PROVINCE_CODE
    assert demo_owner([CHENGDU], "511500") is None


def test_the_demo_year_names_only_known_industries() -> None:
    planned = plans(EventsSettings(env="test").demo_year, random.Random(DEMO_SEED))
    named = {code for plan in planned for code in plan.fields["industries"]}
    assert named  # the demo's sessions target industries
    assert all(is_industry(code) for code in named), sorted(c for c in named if not is_industry(c))
    assert all(is_industry(code) for codes in INDUSTRIES.values() for code in codes)
