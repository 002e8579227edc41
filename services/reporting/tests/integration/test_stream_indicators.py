"""Events and matching snapshots in, the indicators they feed out, against hand-computed figures
(``testing.worked.stream_events``), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting
from shulian_reporting.testing import streams as s
from shulian_reporting.testing.worked import (
    AS_OF,
    CHENGDU,
    YIBIN,
    at,
    by_code,
    events,
    stream_events,
)


async def _indicators(node: Reporting, scope: str = "510000", **query: Any) -> dict[str, Any]:
    params = {"year": 2024, "scope": scope, "as_of": AS_OF.isoformat(), **query}
    response = await node.client.get("/v1/indicators", params=params, headers=node.province)
    assert response.status_code == 200, response.text
    return by_code(response.json())


def _nonzero(months: dict[str, float]) -> dict[str, float]:
    return {m: v for m, v in months.items() if v}


async def test_activity_indicators_match_the_hand_computed_scenario(reporting: Reporting) -> None:
    await t.publish(reporting, stream_events())
    rows = await _indicators(reporting)

    province = rows["province_activities"]
    assert (province["actual"], province["target"], province["status"]) == (1, 2, "on_track")
    assert province["expected"] == pytest.approx(round(2 * 181 / 365, 2))
    assert _nonzero(province["by_month"]) == {"3": 1}

    city = rows["city_activities"]
    assert (city["actual"], city["target"]) == (1, 21)
    assert city["by_city"][CHENGDU] == 1
    assert city["by_city"][YIBIN] == 0
    assert _nonzero(city["by_month"]) == {"6": 1}

    sessions = rows["recruitment_sessions"]
    assert sessions["actual"] == 3
    assert (sessions["by_city"][CHENGDU], sessions["by_city"][YIBIN]) == (2, 1)
    assert _nonzero(sessions["by_month"]) == {"2": 1, "3": 1, "6": 1}
    assert sessions["by_industry"] == {"electronic_information": 2, "power_batteries": 1}

    managers = rows["hr_manager_participations"]
    assert managers["actual"] == 125
    assert (managers["by_city"][CHENGDU], managers["by_city"][YIBIN]) == (120, 5)
    assert _nonzero(managers["by_month"]) == {"4": 120, "5": 5}

    firms = rows["supplier_participations"]
    assert firms["actual"] == 3
    assert _nonzero(firms["by_month"]) == {"2": 1, "3": 1, "6": 1}

    assert rows["trade_volume"]["actual"] == 2_000_000
    assert rows["trade_volume"]["by_industry"] == {"electronic_information": 2_000_000}


async def test_the_year_end_report_counts_the_second_half(reporting: Reporting) -> None:
    await t.publish(reporting, stream_events())
    rows = await _indicators(reporting, as_of="2025-02-01")
    assert rows["province_activities"]["actual"] == 2
    assert rows["province_activities"]["status"] == "met"
    assert rows["recruitment_sessions"]["actual"] == 4  # + the occurrence moved to 07-05
    assert rows["supplier_participations"]["actual"] == 4
    assert rows["trade_volume"]["actual"] == 2_500_000
    last = await _indicators(reporting, year=2023, as_of="2025-02-01")
    assert last["city_activities"]["actual"] == 1  # cf2, Yibin, November 2023
    assert last["trade_volume"]["actual"] == 9_999


async def test_a_city_sees_its_own_activities_and_meets_its_one_fair(
    reporting: Reporting,
) -> None:
    await t.publish(reporting, stream_events())
    chengdu = await _indicators(reporting, CHENGDU)
    assert (chengdu["city_activities"]["actual"], chengdu["city_activities"]["status"]) == (
        1,
        "met",
    )
    assert chengdu["province_activities"]["actual"] == 0  # province fairs are the province's
    yibin = await _indicators(reporting, YIBIN)
    assert yibin["city_activities"]["status"] == "behind"
    assert yibin["hr_manager_participations"]["actual"] == 5


async def test_platform_contracts_add_to_the_declared_trade_volume(reporting: Reporting) -> None:
    await t.publish(reporting, [*events(), *stream_events()])
    rows = await _indicators(reporting)
    assert rows["trade_volume"]["actual"] == 150 + 2_000_000


async def test_replayed_snapshots_change_no_stream_figure(reporting: Reporting) -> None:
    scenario = stream_events()
    await t.publish(reporting, scenario)
    before = await _indicators(reporting)
    # The same events again: the inbox makes them no-ops.
    await t.publish(reporting, scenario[:8])
    # Older snapshots under new event ids: versions below the held ones change nothing.
    stale = [
        s.activity("pf3", kind="province_fair", starts_at=at(2024, 4, 1, 2)),
        s.activity("rs1", kind="recruitment", city=CHENGDU, starts_at=at(2024, 3, 1, 1),
                   rrule="FREQ=MONTHLY;COUNT=4"),
        s.registration("rg6", activity_id="pf1", status="confirmed"),
        s.order("o1", city=CHENGDU, head_count=10),
    ]  # fmt: skip
    await t.publish(reporting, stale)
    assert await _indicators(reporting) == before


async def test_the_calendar_in_figures_by_kind_level_city_and_month(reporting: Reporting) -> None:
    await t.publish(reporting, stream_events())
    response = await reporting.client.get(
        "/v1/indicators/activities",
        params={"year": 2024, "scope": "510000", "as_of": AS_OF.isoformat()},
        headers=reporting.province,
    )
    assert response.status_code == 200, response.text
    data = response.json()
    # By 06-30: pf1, cf1, rs1 ×2 (03-01, 06-01), rs2, fo1, tr1 = 7 sessions.
    assert data["total"] == {
        "sessions": 7, "positions_offered": 300, "intents_signed": 40, "hr_managers_attended": 120,
    }  # fmt: skip
    sessions = {kind: tally["sessions"] for kind, tally in data["by_kind"].items()}
    assert sessions == {"province_fair": 1, "city_fair": 1, "recruitment": 3, "forum": 1,
                        "hr_training": 1}  # fmt: skip
    assert {k: v["sessions"] for k, v in data["by_level"].items()} == {"province": 1, "city": 6}
    assert {k: v["sessions"] for k, v in data["by_city"].items()} == {CHENGDU: 4, YIBIN: 2}
    months = {m: v["sessions"] for m, v in data["by_month"].items() if v["sessions"]}
    assert months == {"2": 1, "3": 2, "4": 1, "5": 1, "6": 2}
    assert data["by_month"]["4"]["positions_offered"] == 300
    assert data["kind_names"]["recruitment"] == "重点产业招聘引才专场"
    yibin = await reporting.client.get(
        "/v1/indicators/activities",
        params={"year": 2024, "scope": YIBIN, "as_of": AS_OF.isoformat()},
        headers=reporting.province,
    )
    assert yibin.json()["total"]["sessions"] == 2
