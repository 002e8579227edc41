"""A series through the API: one occurrence moved, one cancelled, registrations kept per
occurrence; the iCalendar feeds parsed back with occurrences on the expected dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar

from shulian_common.auth import Role
from shulian_events.testing import Events, activity_body
from shulian_events.testing import expand_ics as expand

pytestmark = pytest.mark.both_buses

YIBIN = "511500"
START = datetime.fromisoformat("2030-03-02T09:00:00+08:00")  # a Saturday
MOVED = datetime.fromisoformat("2030-03-10T14:00:00+08:00")


async def _series(node: Events) -> dict[str, Any]:
    body = activity_body(starts_at=START, rrule="FREQ=WEEKLY;COUNT=4", kind="park_tour")
    response = await node.client.post("/v1/activities", json=body, headers=node.province)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _move_and_cancel(node: Events, activity_id: str) -> dict[str, Any]:
    auth = node.auth(Role.CITY_OPERATOR, YIBIN)
    url = f"/v1/activities/{activity_id}/occurrences"
    moved = await node.client.post(
        f"{url}/20300309T010000Z/move",
        json={"starts_at": MOVED.isoformat(), "ends_at": (MOVED + timedelta(hours=4)).isoformat()},
        headers={**auth, "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    cancelled = await node.client.post(
        f"{url}/20300316T010000Z/cancel",
        json={"reason": "场地检修"},
        headers={**auth, "If-Match": '"2"'},
    )
    assert cancelled.status_code == 200, cancelled.text
    result: dict[str, Any] = cancelled.json()
    return result


async def test_a_series_with_one_moved_and_one_cancelled_occurrence(yibin: Events) -> None:
    created = await _series(yibin)
    assert [o["key"] for o in created["occurrences"]] == [
        "20300302T010000Z",
        "20300309T010000Z",
        "20300316T010000Z",
        "20300323T010000Z",
    ]

    after = await _move_and_cancel(yibin, created["id"])

    assert after["status"] == "rescheduled"
    by_key = {o["key"]: o for o in after["occurrences"]}
    assert by_key["20300309T010000Z"]["moved"] is True
    assert datetime.fromisoformat(by_key["20300309T010000Z"]["starts_at"]) == MOVED
    assert by_key["20300316T010000Z"]["cancelled"] is True
    unknown = await yibin.client.post(
        f"/v1/activities/{created['id']}/occurrences/20300317T010000Z/cancel",
        json={"reason": "x"},
        headers={**yibin.province, "If-Match": "*"},
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_occurrence")
    # The list by date range sees the moved occurrence where it now is, not the cancelled one.
    window = await yibin.client.get(
        "/v1/activities",
        params={"from": "2030-03-15T00:00:00+08:00", "to": "2030-03-17T00:00:00+08:00"},
        headers=yibin.province,
    )
    assert window.json()["items"] == []
    moved_window = await yibin.client.get(
        "/v1/activities",
        params={"from": "2030-03-10T00:00:00+08:00", "to": "2030-03-11T00:00:00+08:00"},
        headers=yibin.province,
    )
    assert [a["id"] for a in moved_window.json()["items"]] == [created["id"]]


async def test_the_activity_feed_parses_back_with_the_expected_occurrences(yibin: Events) -> None:
    created = await _series(yibin)
    await _move_and_cancel(yibin, created["id"])

    response = await yibin.client.get(f"/v1/activities/{created['id']}.ics", headers=yibin.province)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    master, moved = cal.walk("VEVENT")
    assert "RRULE" in master
    assert "EXDATE" in master
    assert moved["RECURRENCE-ID"].dt == datetime.fromisoformat("2030-03-09T09:00:00+08:00")
    assert expand(response.content) == [
        START,
        MOVED,
        datetime.fromisoformat("2030-03-23T09:00:00+08:00"),
    ]


async def test_the_province_feed_filters_by_city_kind_campaign_and_industry(yibin: Events) -> None:
    await _series(yibin)
    other = activity_body(
        "511502", starts_at=START, kind="village_tour", campaign=None, industries=["liquor_food"]
    )
    assert (
        await yibin.client.post("/v1/activities", json=other, headers=yibin.province)
    ).is_success

    async def summaries(**params: str) -> list[str]:
        response = await yibin.client.get("/v1/calendar.ics", params=params, headers=yibin.province)
        assert response.status_code == 200, response.text
        cal = Calendar.from_ical(response.content)
        return sorted(str(e["CATEGORIES"].to_ical().decode()) for e in cal.walk("VEVENT"))

    assert len(await summaries()) == 2
    assert await summaries(kind="village_tour") == ["乡村行"]
    assert await summaries(industry="liquor_food") == ["乡村行"]
    assert await summaries(campaign="spring_breeze") == ["园区行,春风行动"]
    assert len(await summaries(city=YIBIN)) == 2
    assert await summaries(city="510100") == []
    missing = await yibin.client.get("/v1/activities/nope.ics", headers=yibin.province)
    assert missing.status_code == 404
