"""Registry events in, indicators out: each checked against the hand-computed scenario."""

from __future__ import annotations

from typing import Any

import pytest

from shulian_common.app import runtime_of
from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting
from shulian_reporting.testing.worked import (
    AS_OF,
    CHENGDU,
    FRACTION,
    YIBIN,
    at,
    by_code,
    events,
)

EVENTS_SOURCED = (
    "hr_manager_participations",
    "province_activities",
    "city_activities",
    "supplier_participations",
    "recruitment_sessions",
)


async def _indicators(node: Reporting, scope: str = "510000", **query: Any) -> dict[str, Any]:
    params = {"year": 2024, "scope": scope, "as_of": AS_OF.isoformat(), **query}
    response = await node.client.get("/v1/indicators", params=params, headers=node.province)
    assert response.status_code == 200, response.text
    return by_code(response.json())


async def test_province_figures_match_the_hand_computed_scenario(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    rows = await _indicators(reporting)

    directory = rows["directory_suppliers"]
    assert directory["actual"] == 3  # s1, s2, s3 (s4 later, s5 suspended)
    assert directory["target"] == 500
    assert directory["share"] == 0.6
    assert directory["expected"] == pytest.approx(round(500 * FRACTION, 2))
    assert (directory["status"], directory["status_label"]) == ("behind", "滞后")
    assert directory["by_city"][CHENGDU] == 2
    assert directory["by_city"][YIBIN] == 1
    assert directory["by_city"]["510600"] == 0
    assert len(directory["by_city"]) == 21
    assert {m: v for m, v in directory["by_month"].items() if v} == {"2": 1, "3": 1, "6": 1}
    assert directory["by_industry"] == {
        "digital_economy": 1,
        "electronic_information": 2,
        "power_batteries": 1,
    }

    assert rows["scenarios"]["actual"] == 2
    assert rows["stations"]["actual"] == 1
    assert rows["strong_counties"]["actual"] == 3
    assert rows["paired_suppliers"]["actual"] == 2
    assert rows["park_market_coverage"]["actual"] == 2
    assert rows["park_market_coverage"]["by_city"][CHENGDU] == 1
    assert rows["platforms"]["actual"] == 2

    assert (
        rows["national_park_platforms"]["actual"],
        rows["national_park_platforms"]["status"],
    ) == (60, "met")
    assert (
        rows["provincial_park_platforms"]["actual"],
        rows["provincial_park_platforms"]["status"],
    ) == (12, "on_track")
    assert rows["provincial_park_platforms"]["expected"] == pytest.approx(round(20 * FRACTION, 2))
    assert rows["national_market_platforms"]["actual"] == 31
    assert rows["provincial_market_platforms"]["actual"] == 8
    assert rows["national_park_service_objects"]["actual"] == 520
    assert rows["provincial_park_service_objects"]["actual"] == 150

    assert rows["trade_volume"]["actual"] == 150
    high_end = rows["high_end_share"]
    assert (high_end["actual"], high_end["expected"], high_end["status"]) == (20.0, 35, "behind")


async def test_every_indicator_has_a_source_and_an_empty_stream_counts_zero(
    reporting: Reporting,
) -> None:
    rows = await _indicators(reporting)
    for code in EVENTS_SOURCED:
        assert rows[code]["actual"] == 0  # the events stream is consumed: zero is a fact
        assert rows[code]["status"] != "no_source"
    assert all(row["status"] != "no_source" for row in rows.values())
    assert rows["directory_suppliers"]["actual"] == 0


async def test_a_city_scope_counts_its_own_records_and_has_no_target_until_set(
    reporting: Reporting,
) -> None:
    await t.publish(reporting, events())
    rows = await _indicators(reporting, CHENGDU)
    assert rows["directory_suppliers"]["actual"] == 2
    assert rows["platforms"]["actual"] == 1  # the province-level platform is not Chengdu's
    assert (rows["directory_suppliers"]["status"], rows["directory_suppliers"]["target"]) == (
        "no_target",
        None,
    )
    region = await _indicators(reporting, "south")  # 川南: Yibin's records
    assert region["directory_suppliers"]["actual"] == 1
    assert set(region["directory_suppliers"]["by_city"]) == {"510300", "510500", "511000", YIBIN}


async def test_the_year_end_report_counts_what_came_after_mid_year(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    rows = await _indicators(reporting, as_of="2025-03-01")  # 2024's report stands at 12-31
    assert rows["directory_suppliers"]["actual"] == 4  # s4 joined in July
    assert rows["directory_suppliers"]["as_of"] == "2024-12-31"
    assert rows["stations"]["actual"] == 2


async def test_duplicates_and_stale_snapshots_change_nothing(reporting: Reporting) -> None:
    scenario = events()
    await t.publish(reporting, scenario)
    before = await _indicators(reporting)
    consumer = runtime_of(reporting.app).consumers
    assert consumer is not None
    duplicates = consumer.duplicates
    # The same events again (same ids): the inbox makes them no-ops.
    await t.publish(reporting, scenario[:5])
    assert consumer.duplicates == duplicates + 5
    # An older snapshot under a new id: s5 listed again at version 2, after its version 3.
    stale = t.supplier("s5", city="510600", version=2, verb="listing_changed", status="listed",
                       decided_at=at(2024, 1, 10, 4))  # fmt: skip
    await t.publish(reporting, [stale])
    assert await _indicators(reporting) == before


async def test_a_city_sees_its_own_figures_and_the_province_totals_only(
    reporting: Reporting,
) -> None:
    chengdu = reporting.auth("city_operator", CHENGDU)
    ok = await reporting.client.get(
        "/v1/indicators", params={"year": 2024, "scope": CHENGDU}, headers=chengdu
    )
    total = await reporting.client.get(
        "/v1/indicators", params={"year": 2024, "scope": "510000"}, headers=chengdu
    )
    other = await reporting.client.get(
        "/v1/indicators", params={"year": 2024, "scope": YIBIN}, headers=chengdu
    )
    unknown = await reporting.client.get(
        "/v1/indicators", params={"year": 2024, "scope": "999999"}, headers=reporting.province
    )
    supplier = await reporting.client.get(
        "/v1/indicators",
        params={"year": 2024},
        headers=reporting.auth("supplier", supplier_id="s1"),
    )
    assert (ok.status_code, total.status_code) == (200, 200)
    assert (other.status_code, other.json()["code"]) == (403, "scope_not_visible")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_scope")
    assert (supplier.status_code, supplier.json()["code"]) == (403, "forbidden_role")
