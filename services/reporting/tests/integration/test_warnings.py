"""Warnings: raised once (row and event) while a rule's condition holds, cleared when it ends."""

from __future__ import annotations

from typing import Any

from pydantic import RootModel

from shulian_common.auth import Role
from shulian_common.testing.responses import assert_conforms
from shulian_reporting import testing as t
from shulian_reporting.schemas import WarningRead
from shulian_reporting.testing import Reporting
from shulian_reporting.testing.worked import CHENGDU, at

EVALUATE = "/v1/warnings/evaluate"


async def _evaluate(node: Reporting, as_of: str) -> dict[str, Any]:
    response = await node.client.post(
        EVALUATE, params={"year": 2024, "as_of": as_of}, headers=node.province
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _keys(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(row["rule_code"], row["scope_code"]) for row in rows}


async def test_a_city_behind_pace_is_warned_once_and_cleared_when_it_catches_up(
    reporting: Reporting,
) -> None:
    body = {"indicator": "directory_suppliers", "scope_code": CHENGDU, "value": 3}
    await reporting.client.post("/v1/targets", json=body, headers=reporting.province)
    # Expected by 2024-06-30: 3 × 284/833 = 1.02; Chengdu has 0 listed suppliers.
    first = await _evaluate(reporting, "2024-06-30")
    second = await _evaluate(reporting, "2024-06-30")

    assert ("directory_behind_pace", CHENGDU) in _keys(first["raised"])
    assert ("directory_behind_pace", "510000") in _keys(first["raised"])  # 0 of 500, too
    assert second == {"raised": [], "cleared": []}
    raised = next(
        w
        for w in first["raised"]
        if (w["rule_code"], w["scope_code"]) == ("directory_behind_pace", CHENGDU)
    )
    assert "成都" in raised["message"]
    assert "低于进度要求" in raised["message"]

    listed = [
        t.supplier(f"c{i}", city=CHENGDU, version=2, verb="listing_changed", status="listed",
                   decided_at=at(2024, 3, 1, 4))
        for i in range(2)
    ]  # fmt: skip
    await t.publish(reporting, listed)
    third = await _evaluate(reporting, "2024-06-30")
    assert _keys(third["cleared"]) == {("directory_behind_pace", CHENGDU)}
    assert third["raised"] == []

    events = await reporting.events()
    mine = [
        e
        for e in events
        if e["data"]["scope_code"] == CHENGDU and e["data"]["rule_code"] == "directory_behind_pace"
    ]
    assert [e["type"] for e in mine] == ["warning.raised.v1", "warning.cleared.v1"]
    assert mine[0]["key"] == mine[1]["key"] == raised["id"]
    assert mine[1]["data"]["cleared_at"] is not None

    listing = await reporting.client.get(
        "/v1/warnings", params={"include_cleared": True}, headers=reporting.province
    )
    assert ("directory_behind_pace", CHENGDU) in _keys(listing.json())
    open_only = await reporting.client.get("/v1/warnings", headers=reporting.province)
    assert ("directory_behind_pace", CHENGDU) not in _keys(open_only.json())
    # A city sees its own warnings and the province's, not another city's.
    own, other = [
        await reporting.client.get(
            "/v1/warnings",
            params={"include_cleared": True},
            headers=reporting.auth(Role.CITY_OPERATOR, city),
        )
        for city in (CHENGDU, "510700")
    ]
    assert ("directory_behind_pace", CHENGDU) in _keys(own.json())
    assert {w["scope_code"] for w in own.json()} <= {"510000", CHENGDU}
    assert {w["scope_code"] for w in other.json()} <= {"510000", "510700"}
    # Serialised from the rows without a model: exactly what WarningRead would render.
    for answer in (listing, open_only, own, other):
        assert_conforms(RootModel[list[WarningRead]], answer.content)


async def test_every_rule_is_evaluated_now_that_every_stream_is_read(
    reporting: Reporting,
) -> None:
    rules = await reporting.client.get("/v1/warning-rules", headers=reporting.province)
    assert all(rule["evaluated"] is True for rule in rules.json())


async def test_a_summary_not_submitted_by_12_20_is_warned_until_submitted(
    reporting: Reporting,
) -> None:
    before = await _evaluate(reporting, "2024-12-20")
    assert not any(w["rule_code"] == "summary_overdue" for w in before["raised"])
    after = await _evaluate(reporting, "2024-12-21")
    overdue = {scope for rule, scope in _keys(after["raised"]) if rule == "summary_overdue"}
    assert len(overdue) == 21

    chengdu = reporting.auth("city_operator", CHENGDU)
    draft = await reporting.client.put(
        f"/v1/summaries/2024/{CHENGDU}", json={"sections": {}}, headers=chengdu
    )
    await reporting.client.post(
        f"/v1/summaries/2024/{CHENGDU}/submit",
        headers={**chengdu, "If-Match": draft.headers["ETag"]},
    )
    later = await _evaluate(reporting, "2024-12-22")
    assert _keys(later["cleared"]) == {("summary_overdue", CHENGDU)}
