"""The warnings the events and matching streams feed — no province-level fair by mid-year, a city
behind pace on its fairs, 急需紧缺预警 — each raised once (row and event) and cleared when its
condition ends."""

from __future__ import annotations

from typing import Any

from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting
from shulian_reporting.testing import streams as s
from shulian_reporting.testing.worked import CHENGDU, SOFTWARE, YIBIN, at, orders


async def _evaluate(node: Reporting, as_of: str) -> dict[str, Any]:
    response = await node.client.post(
        "/v1/warnings/evaluate", params={"year": 2024, "as_of": as_of}, headers=node.province
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _of(rows: list[dict[str, Any]], rule: str) -> dict[str, dict[str, Any]]:
    return {row["scope_code"]: row for row in rows if row["rule_code"] == rule}


async def _events(node: Reporting, rule: str) -> list[tuple[str, str]]:
    return [
        (e["type"], e["data"]["scope_code"])
        for e in await node.events()
        if e["type"].startswith("warning.") and e["data"]["rule_code"] == rule
    ]


async def test_no_province_fair_by_mid_year_is_raised_once_and_cleared_by_a_fair(
    reporting: Reporting,
) -> None:
    rule = "no_province_fair_by_mid_year"
    early = await _evaluate(reporting, "2024-06-30")  # day 181 of the year
    assert _of(early["raised"], rule) == {}
    late = await _evaluate(reporting, "2024-07-01")  # day 182
    assert set(_of(late["raised"], rule)) == {"510000"}  # the province, not the cities
    assert "年中仍未举办省级对接协同专场活动" in _of(late["raised"], rule)["510000"]["message"]
    again = await _evaluate(reporting, "2024-07-02")
    assert _of(again["raised"], rule) == {}

    await t.publish(
        reporting, [s.activity("pf", kind="province_fair", starts_at=at(2024, 7, 1, 2))]
    )
    held = await _evaluate(reporting, "2024-07-02")
    assert set(_of(held["cleared"], rule)) == {"510000"}
    assert await _events(reporting, rule) == [
        ("warning.raised.v1", "510000"),
        ("warning.cleared.v1", "510000"),
    ]


async def test_a_city_behind_on_its_fair_is_warned_until_it_holds_one(
    reporting: Reporting,
) -> None:
    rule = "activities_behind_pace"
    mid = await _evaluate(reporting, "2024-06-30")  # half a fair is not a fair due yet
    assert set(_of(mid["raised"], rule)) == {"510000"}  # 21 × 181/365: 10 fairs due, none held
    end = await _evaluate(reporting, "2024-12-31")
    behind = _of(end["raised"], rule)
    assert len(behind) == 21  # each city's one fair is due now
    assert "成都" in behind[CHENGDU]["message"]

    fair = s.activity("cf", kind="city_fair", city=CHENGDU, starts_at=at(2024, 11, 5, 2))
    await t.publish(reporting, [fair])
    after = await _evaluate(reporting, "2024-12-31")
    assert set(_of(after["cleared"], rule)) == {CHENGDU}
    open_rows = await reporting.client.get("/v1/warnings", headers=reporting.province)
    still = {(w["rule_code"], w["scope_code"]) for w in open_rows.json()}
    assert (rule, YIBIN) in still
    assert (rule, CHENGDU) not in still


async def test_a_shortage_over_the_threshold_is_warned_until_supply_catches_up(
    reporting: Reporting,
) -> None:
    rule = "shortage_ratio"
    assert _of((await _evaluate(reporting, "2024-06-30"))["raised"], rule) == {}
    await t.publish(reporting, orders())
    first = await _evaluate(reporting, "2024-06-30")
    raised = _of(first["raised"], rule)
    # Chengdu: 6 unmet / 2 talents = 3.0; Yibin: 20 / 1 = 20.0; both ≥ 2.0.
    assert set(raised) == {CHENGDU, YIBIN}
    assert "急需紧缺预警" in raised[CHENGDU]["message"]
    assert "电子信息专业技术人员未满足6人" in raised[CHENGDU]["message"]
    assert "供需比3" in raised[CHENGDU]["message"]
    assert _of((await _evaluate(reporting, "2024-06-30"))["raised"], rule) == {}

    more = [s.talent(f"more{i}", city=CHENGDU, occupation=SOFTWARE) for i in range(2)]
    await t.publish(reporting, more)  # 6 unmet / 4 talents = 1.5 < 2.0
    cleared = await _evaluate(reporting, "2024-06-30")
    assert set(_of(cleared["cleared"], rule)) == {CHENGDU}
    assert await _events(reporting, rule) == [
        ("warning.raised.v1", CHENGDU),
        ("warning.raised.v1", YIBIN),
        ("warning.cleared.v1", CHENGDU),
    ]
