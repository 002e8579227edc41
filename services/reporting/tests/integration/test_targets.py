"""Targets: seeded from the notice, read by everyone, changed by the province with If-Match."""

from __future__ import annotations

from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting
from shulian_reporting.testing.worked import AS_OF, CHENGDU, by_code, events

URL = "/v1/targets/directory_suppliers/510000"


async def test_the_notices_targets_are_seeded(reporting: Reporting) -> None:
    response = await reporting.client.get("/v1/targets", headers=reporting.province)
    targets = {(row["indicator"], row["scope_code"]): row["value"] for row in response.json()}
    assert targets[("directory_suppliers", "510000")] == 500
    assert targets[("trade_volume", "510000")] == 1_000_000_000
    assert targets[("high_end_share", "510000")] == 35
    assert targets[("city_activities", CHENGDU)] == 1
    assert targets[("city_activities", "510000")] == 21
    assert len(targets) == 20 + 21  # one per indicator, plus one per city for city activities


async def test_the_province_changes_a_target_with_if_match(reporting: Reporting) -> None:
    read = await reporting.client.get(URL, headers=reporting.province)
    etag = read.headers["ETag"]

    missing = await reporting.client.put(URL, json={"value": 520}, headers=reporting.province)
    changed = await reporting.client.put(
        URL,
        json={"value": 520, "note": "省厅调整"},
        headers={**reporting.province, "If-Match": etag},
    )
    stale = await reporting.client.put(
        URL, json={"value": 530}, headers={**reporting.province, "If-Match": etag}
    )
    city = await reporting.client.put(
        URL,
        json={"value": 1},
        headers={**reporting.auth("city_operator", CHENGDU), "If-Match": changed.headers["ETag"]},
    )

    assert (missing.status_code, missing.json()["code"]) == (428, "precondition_required")
    assert changed.status_code == 200
    assert changed.json()["value"] == 520
    assert changed.headers["ETag"] != etag
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert (city.status_code, city.json()["code"]) == (403, "forbidden_role")
    after = await reporting.client.get(URL, headers=reporting.province)
    assert after.json()["value"] == 520


async def test_a_city_target_gives_the_city_a_status(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    body = {"indicator": "directory_suppliers", "scope_code": CHENGDU, "value": 4}
    created = await reporting.client.post("/v1/targets", json=body, headers=reporting.province)
    again = await reporting.client.post("/v1/targets", json=body, headers=reporting.province)
    unknown = await reporting.client.post(
        "/v1/targets", json={**body, "indicator": "no_such"}, headers=reporting.province
    )
    assert created.status_code == 201
    assert (again.status_code, again.json()["code"]) == (409, "target_exists")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_indicator")

    response = await reporting.client.get(
        "/v1/indicators",
        params={"year": 2024, "scope": CHENGDU, "as_of": AS_OF.isoformat()},
        headers=reporting.province,
    )
    directory = by_code(response.json())["directory_suppliers"]
    # 2 listed against 4 by end-2025: 50 %, ahead of the pace 4 × 284/833 = 1.36.
    assert (directory["target"], directory["share"], directory["status"]) == (4, 50.0, "on_track")
    assert directory["expected"] == 1.36
