"""The demo year: believable activities over the 21 cities, yearly targets met in some cities
and missed in others, seeded once through the handlers (so every activity published events)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from shulian_common.db import create_engine, create_session_factory
from shulian_common.messaging import outbox
from shulian_common.reference import PROVINCE_CODE, cities, in_scope, is_industry
from shulian_common.testing.node import node_settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_events import repository
from shulian_events.demo import (
    DEMO_SEED,
    INDUSTRIES,
    NO_CITY_FAIR,
    check_in_demo_suppliers,
    demo_owner,
    plans,
    seed_demo,
)
from shulian_events.domain.series import local_date_of
from shulian_events.domain.terms import TIMEZONE
from shulian_events.orm import Activity, Occurrence, Registration
from shulian_events.settings import EventsSettings
from shulian_events.testing import events_settings_for

CHENGDU = "510100"
PAST_YEAR = 2025  # a whole year behind us: every activity held and completed


async def test_the_demo_year_meets_some_targets_and_misses_others(tmp_path: Path) -> None:
    settings = events_settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", tmp_path, "510000", demo_year=PAST_YEAR
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
            demo_year=PAST_YEAR,
        )
        assert await seed_demo(settings) > 0
        engine = create_engine(settings.resolved_database_url)
        try:
            async with create_session_factory(engine)() as session:
                held[node] = list(await session.scalars(select(Activity)))
        finally:
            await engine.dispose()

    planned = plans(PAST_YEAR, random.Random(DEMO_SEED))
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
    planned = plans(PAST_YEAR, random.Random(DEMO_SEED))
    named = {code for plan in planned for code in plan.fields["industries"]}
    assert named  # the demo's sessions target industries
    assert all(is_industry(code) for code in named), sorted(c for c in named if not is_industry(c))
    assert all(is_industry(code) for codes in INDUSTRIES.values() for code in codes)


async def test_the_demo_checks_registered_suppliers_in_at_its_past_activities(
    tmp_path: Path,
) -> None:
    """Suppliers taking part (the yearly 2,000 firm-times indicator) are not zero in the demo:
    once the registry's suppliers reach the replica, the past activities get their check-ins,
    published as reporting reads them."""
    settings = events_settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", tmp_path, PROVINCE_CODE, demo_year=PAST_YEAR
    )
    await seed_demo(settings)
    engine = create_engine(settings.resolved_database_url)
    uow_factory = UnitOfWorkFactory(create_session_factory(engine), source=settings.source)
    try:
        assert await check_in_demo_suppliers(uow_factory, node_id=PROVINCE_CODE) == 0  # no one yet
        async with uow_factory() as uow:
            for n in range(300):  # the registry's snapshots, as the consumer keeps them
                await repository.upsert_participant(
                    uow.session,
                    {
                        "kind": "supplier",
                        "id": f"s{n:031d}",
                        "owner_node": PROVINCE_CODE,
                        "name": f"测试{n}人力资源有限公司",
                        "listing_status": "delisted" if n % 10 == 0 else "listed",
                        "version": 1,
                        "updated_at": datetime(2025, 1, 1, tzinfo=UTC),
                    },
                )
            await uow.commit()

        checked_in = await check_in_demo_suppliers(uow_factory, node_id=PROVINCE_CODE)
        again = await check_in_demo_suppliers(uow_factory, node_id=PROVINCE_CODE)

        async with create_session_factory(engine)() as session:
            rows = list(await session.scalars(select(Registration)))
            activities = {a.id: a for a in await session.scalars(select(Activity))}
            occurrences = {
                (o.activity_id, o.key): o for o in await session.scalars(select(Occurrence))
            }
            published = (
                await session.execute(
                    select(outbox.c.type, outbox.c.data).where(
                        outbox.c.topic == "shulian.events.registrations.v1"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert again == 0  # every past activity has its participants: nothing twice
    assert 1500 <= checked_in == len(rows) <= 3000  # about the province's yearly target
    assert all(r.status == "checked_in" and r.participant_kind == "supplier" for r in rows)
    assert all(int(r.participant_id[1:]) % 10 != 0 for r in rows)  # listed suppliers only
    for r in rows:
        activity = activities[r.activity_id]
        occurrence = occurrences[(r.activity_id, r.occurrence_key)]
        assert activity.status == "completed"
        assert activity.kind != "hr_training"
        assert not occurrence.cancelled
        assert r.checked_in_at is not None
        assert local_date_of(r.checked_in_at) == local_date_of(occurrence.starts_at)  # on the day
        assert r.checked_in_at.year == PAST_YEAR
    per_occurrence = Counter((r.activity_id, r.occurrence_key, r.participant_id) for r in rows)
    assert max(per_occurrence.values()) == 1  # a supplier once per occurrence
    fairs = [a.id for a in activities.values() if a.kind == "province_fair"]
    held = Counter(r.activity_id for r in rows)
    assert all(held[a] >= 60 for a in fairs if activities[a].status == "completed")
    # Each as its events tell it: decided (a confirmed place), then checked in.
    types = Counter(kind.rsplit(".", 2)[-2] for kind, _ in published)
    assert types == {"decided": len(rows), "checked_in": len(rows)}
    checked = [data for kind, data in published if kind.endswith(".checked_in.v1")]
    assert {(d["participant_kind"], d["status"]) for d in checked} == {("supplier", "checked_in")}
    assert {d["id"] for d in checked} == {r.id for r in rows}


async def test_by_default_the_demo_fills_the_current_year_up_to_today(tmp_path: Path) -> None:
    """The dashboard opens on the current year, where the registry's and matching's demo records
    are dated: the calendar's demo fills that year too, held and completed up to today and
    still scheduled after it."""
    settings = events_settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", tmp_path, PROVINCE_CODE
    )
    this_year = datetime.now(ZoneInfo(TIMEZONE)).year
    assert settings.demo_year == 0
    assert settings.filled_demo_year == this_year

    assert await seed_demo(settings) > 250
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_session_factory(engine)() as session:
            occurrences = list(await session.scalars(select(Occurrence)))
            activities = {a.id: a for a in await session.scalars(select(Activity))}
    finally:
        await engine.dispose()
    now = datetime.now(UTC)
    assert {local_date_of(o.starts_at)[:4] for o in occurrences} == {str(this_year)}
    for o in occurrences:
        status = activities[o.activity_id].status
        if o.ends_at.replace(tzinfo=UTC) < now and not o.cancelled:
            assert status in {"completed", "cancelled"}, (o.starts_at, status)
        if o.starts_at.replace(tzinfo=UTC) > now:
            assert status != "completed", (o.starts_at, status)


def test_the_demo_year_is_the_current_one_or_a_year_of_the_action() -> None:
    assert EventsSettings(env="test", demo_year=2023).filled_demo_year == 2023
    for wrong in (2022, 1, -1, 2101):
        with pytest.raises(ValidationError, match="demo_year"):
            EventsSettings(env="test", demo_year=wrong)
