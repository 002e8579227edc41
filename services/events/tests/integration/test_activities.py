"""Activities through the API: schedule, list by date range and filters, change with If-Match,
the lifecycle to completion or cancellation, double-booking warnings, and refusals that change
nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shulian_common.auth import Role
from shulian_common.schemas import Page
from shulian_common.testing.responses import assert_conforms
from shulian_events.schemas import ActivityRead
from shulian_events.testing import Events, activity_body, schedule, soon

YIBIN = "511500"


def naive(moment: datetime) -> str:
    """``moment`` without its offset, as a careless client sends it."""
    return moment.replace(tzinfo=None).isoformat()


async def _create(
    node: Events, body: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return await node.client.post(
        "/v1/activities",
        json=body or activity_body(),
        headers={**node.auth(Role.CITY_OPERATOR, YIBIN), **headers},
    )


async def _created(node: Events, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await _create(node, body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_schedule_an_activity_and_read_it_back(yibin: Events) -> None:
    response = await _create(yibin)

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/v1/activities/{created['id']}"
    assert created["owner_node"] == YIBIN
    assert (created["status"], created["status_label"]) == ("scheduled", "已排期")
    assert (created["kind_label"], created["campaign_label"]) == (
        "重点产业招聘引才专场",
        "春风行动",
    )
    assert (created["city_code"], created["timezone"]) == (YIBIN, "Asia/Shanghai")
    assert [o["key"] for o in created["occurrences"]] == ["once"]
    assert created["warnings"] == []
    read = await yibin.client.get(f"/v1/activities/{created['id']}", headers=yibin.province)
    assert read.json()["title"] == created["title"]
    [event] = await yibin.events("activity.scheduled")
    assert event["key"] == created["id"]
    assert event["topic"] == "shulian.events.activities.v1"
    assert event["data"]["division_code"] == YIBIN


async def test_an_idempotency_key_replays_the_first_creation(yibin: Events) -> None:
    first = await _create(yibin, None, **{"Idempotency-Key": "k1"})
    again = await _create(yibin, None, **{"Idempotency-Key": "k1"})

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert await yibin.count("activities") == 1


async def test_list_by_date_range_and_filters(yibin: Events) -> None:
    near = await _created(yibin, activity_body(starts_at=soon(3)))
    far = await _created(
        yibin,
        activity_body(
            starts_at=soon(60),
            kind="campus_tour",
            campaign="jobs_to_campus",
            industries=["digital_economy"],
        ),
    )
    county = await _created(yibin, activity_body("511502", starts_at=soon(4), campaign=None))

    async def ids(**params: str) -> list[str]:
        response = await yibin.client.get("/v1/activities", params=params, headers=yibin.province)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    window = {"from": soon(1).isoformat(), "to": soon(10).isoformat()}
    assert set(await ids(**window)) == {near["id"], county["id"]}
    assert await ids(kind="campus_tour") == [far["id"]]
    assert await ids(campaign="jobs_to_campus") == [far["id"]]
    assert await ids(industry="digital_economy") == [far["id"]]
    assert set(await ids(industry="power_batteries")) == {near["id"], county["id"]}
    assert await ids(division="511502") == [county["id"]]
    assert len(await ids(city=YIBIN)) == 3
    assert await ids(city="510100") == []
    page = await yibin.client.get("/v1/activities", params={"limit": 2}, headers=yibin.province)
    rest = await yibin.client.get(
        "/v1/activities", params={"cursor": page.json()["next_cursor"]}, headers=yibin.province
    )
    assert (len(page.json()["items"]), len(rest.json()["items"])) == (2, 1)
    # Serialised from the rows without a model: exactly what ActivityRead would render.
    for listed in (page, rest):
        assert_conforms(Page[ActivityRead], listed.content)
    bad = await yibin.client.get("/v1/activities", params={"kind": "party"}, headers=yibin.province)
    assert bad.status_code == 422


async def test_change_needs_if_match_and_new_dates_reschedule(yibin: Events) -> None:
    created = await _created(yibin)
    url = f"/v1/activities/{created['id']}"
    auth = yibin.auth(Role.CITY_OPERATOR, YIBIN)

    missing = await yibin.client.patch(url, json={"capacity": 10}, headers=auth)
    renamed = await yibin.client.patch(
        url, json={"title": "新标题"}, headers={**auth, "If-Match": '"1"'}
    )
    stale = await yibin.client.patch(
        url, json={"capacity": 10}, headers={**auth, "If-Match": '"1"'}
    )
    later = soon(9)
    moved = await yibin.client.patch(
        url,
        json={"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()},
        headers={**auth, "If-Match": '"2"'},
    )

    assert missing.status_code == 428
    assert (renamed.status_code, renamed.json()["status"]) == (200, "scheduled")
    assert stale.status_code == 412
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.headers["ETag"]) == ("rescheduled", '"3"')
    assert [e["type"] for e in await yibin.events()] == [
        "activity.scheduled.v1",
        "activity.updated.v1",
        "activity.rescheduled.v1",
    ]


@pytest.mark.both_buses
async def test_hold_then_complete_with_an_outcome(yibin: Events) -> None:
    created = await _created(yibin)
    url = f"/v1/activities/{created['id']}"
    auth = yibin.auth(Role.CITY_OPERATOR, YIBIN)

    early = await yibin.client.post(
        f"{url}/complete",
        json={"positions_offered": 1, "intents_signed": 1},
        headers={**auth, "If-Match": "*"},
    )
    held = await yibin.client.post(f"{url}/hold", headers={**auth, "If-Match": '"1"'})
    done = await yibin.client.post(
        f"{url}/complete",
        json={"positions_offered": 320, "intents_signed": 45, "firms_participated": 28},
        headers={**auth, "If-Match": '"2"'},
    )

    assert (early.status_code, early.json()["code"]) == (409, "invalid_transition")
    assert held.json()["status"] == "held"
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    assert done.json()["outcome"] == {
        "firms_participated": 28,
        "positions_offered": 320,
        "intents_signed": 45,
        "hr_managers_attended": 0,
    }
    [event] = await yibin.events("activity.completed")
    assert event["data"]["outcome"]["positions_offered"] == 320
    # The list shows the completed activity as reading it does (outcome, labels, occurrences).
    listed = await yibin.client.get("/v1/activities", headers=yibin.province)
    [item] = assert_conforms(Page[ActivityRead], listed.content)["items"]
    assert item == (await yibin.client.get(url, headers=yibin.province)).json()
    cancel = await yibin.client.post(
        f"{url}/cancel", json={"reason": "晚了"}, headers={**auth, "If-Match": "*"}
    )
    assert cancel.json()["code"] == "invalid_transition"


async def test_cancel_with_a_reason(yibin: Events) -> None:
    created = await _created(yibin)
    auth = yibin.auth(Role.CITY_OPERATOR, YIBIN)
    cancelled = await yibin.client.post(
        f"/v1/activities/{created['id']}/cancel",
        json={"reason": "场馆临时征用"},
        headers={**auth, "If-Match": '"1"'},
    )
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "场馆临时征用",
    )
    assert [e["type"] for e in await yibin.events()][-1] == "activity.cancelled.v1"


@pytest.mark.both_buses
async def test_double_booking_of_a_venue_or_host_is_a_warning(yibin: Events) -> None:
    start = soon(5)
    first = await _created(yibin, activity_body(starts_at=start, host_ref="p" * 32, venue="A馆"))
    same_venue = await _created(
        yibin, activity_body(starts_at=start + timedelta(hours=1), venue="A馆")
    )
    same_host = await _created(
        yibin, activity_body(starts_at=start + timedelta(hours=2), host_ref="p" * 32, venue="B馆")
    )
    apart = await _created(yibin, activity_body(starts_at=start + timedelta(days=1), venue="A馆"))

    assert first["warnings"] == []
    assert [w["activity_id"] for w in same_venue["warnings"]] == [first["id"]]
    assert {w["activity_id"] for w in same_host["warnings"]} == {first["id"]}
    assert same_host["warnings"][0]["code"] == "double_booked"
    assert apart["warnings"] == []
    read = await yibin.client.get(f"/v1/activities/{first['id']}", headers=yibin.province)
    assert {w["activity_id"] for w in read.json()["warnings"]} == {
        same_venue["id"],
        same_host["id"],
    }


async def test_unknown_industries_are_refused_and_change_nothing(yibin: Events) -> None:
    refused = await _create(yibin, activity_body(industries=["power_batteries", "quantum_magic"]))

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["industries"]) == (
        "unknown_industry",
        ["quantum_magic"],
    )
    assert await yibin.count("activities") == 0
    assert await yibin.count("activity_industries") == 0
    assert await yibin.events() == []

    known = ["power_batteries", "crystalline_pv", "sichuan_tibet_railway"]
    created = await _created(yibin, activity_body(industries=known))
    assert created["industries"] == known
    url = f"/v1/activities/{created['id']}"
    auth = yibin.auth(Role.CITY_OPERATOR, YIBIN)
    changed = await yibin.client.patch(
        url,
        json={"industries": ["digital_economy", "pet_rocks"]},
        headers={**auth, "If-Match": '"1"'},
    )

    assert changed.status_code == 422, changed.text
    assert changed.json()["code"] == "unknown_industry"
    read = await yibin.client.get(url, headers=yibin.province)
    assert (read.headers["ETag"], read.json()["industries"]) == ('"1"', known)
    assert await yibin.count("activity_industries") == len(known)
    assert [e["type"] for e in await yibin.events()] == ["activity.scheduled.v1"]
    fine = await yibin.client.patch(
        url, json={"industries": ["digital_economy"]}, headers={**auth, "If-Match": '"1"'}
    )
    assert (fine.status_code, fine.json()["industries"]) == (200, ["digital_economy"])
    filtered = await yibin.client.get(
        "/v1/activities", params={"industry": "digital_economy"}, headers=yibin.province
    )
    assert [a["id"] for a in filtered.json()["items"]] == [created["id"]]


@pytest.mark.both_buses
async def test_node_and_division_authorisation(yibin: Events) -> None:
    chengdu_body = activity_body("510100")
    county_op = yibin.auth(Role.COUNTY_OPERATOR, "511502")
    cases = [
        (yibin.auth(Role.CITY_OPERATOR, YIBIN), chengdu_body, 403, "outside_scope"),
        (county_op, activity_body(YIBIN), 403, "outside_scope"),
        (yibin.auth(Role.SUPPLIER, supplier_id="s1"), activity_body(), 403, "read_only_role"),
        (yibin.auth(Role.PARTNER), activity_body(), 403, "read_only_principal"),
        (yibin.province, chengdu_body, 403, "outside_node_scope"),
        (yibin.province, activity_body(YIBIN, level="county"), 422, "invalid_level"),
    ]
    for headers, body, status, code in cases:
        response = await yibin.client.post("/v1/activities", json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    county = await yibin.client.post(
        "/v1/activities", json=activity_body("511502"), headers=county_op
    )
    by_province = await yibin.client.post(
        "/v1/activities", json=activity_body(YIBIN), headers=yibin.province
    )
    assert county.status_code == by_province.status_code == 201
    assert await yibin.count("activities") == 2
    partner_reads = await yibin.client.get("/v1/activities", headers=yibin.auth(Role.PARTNER))
    assert len(partner_reads.json()["items"]) == 2


async def test_bad_schedules_are_refused_with_a_code_and_change_nothing(yibin: Events) -> None:
    start = soon()
    cases = [
        (activity_body(ends_at=(start - timedelta(hours=1)).isoformat()), "invalid_schedule"),
        (activity_body(rrule="FREQ=WEEKLY"), "invalid_recurrence"),
        (activity_body(rrule="FREQ=NEVER;COUNT=2"), "invalid_recurrence"),
        (
            activity_body(
                registration_opens_at=start.isoformat(),
                registration_closes_at=(start - timedelta(days=1)).isoformat(),
            ),
            "invalid_schedule",
        ),
        (activity_body(starts_at=start.replace(tzinfo=None)), "invalid_schedule"),
        (activity_body(starts_at=start.replace(year=1)), "invalid_schedule"),
        (activity_body("999999"), "invalid_division"),
        # A registration window: with an offset, opening before the start, closing by the end.
        (activity_body(registration_opens_at=naive(start - timedelta(days=2))), "invalid_schedule"),
        (
            activity_body(
                registration_opens_at=naive(start - timedelta(days=2)),
                registration_closes_at=(start - timedelta(days=1)).isoformat(),
            ),
            "invalid_schedule",
        ),
        (
            activity_body(registration_opens_at=(start + timedelta(hours=1)).isoformat()),
            "invalid_schedule",
        ),
        (
            activity_body(registration_closes_at=(start + timedelta(days=2)).isoformat()),
            "invalid_schedule",
        ),
        # Rules: checked from their text before anything expands them.
        (activity_body(rrule="FREQ=WEEKLY;COUNT=3;INTERVAL=0"), "invalid_recurrence"),
        (activity_body(rrule="FREQ=WEEKLY;COUNT=3;UNTIL=20991231T000000Z"), "invalid_recurrence"),
        (
            activity_body(rrule="FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30;COUNT=1"),
            "invalid_recurrence",
        ),
        (  # each lasts two days, one starts every day: they overlap
            activity_body(
                rrule="FREQ=DAILY;COUNT=3", ends_at=(start + timedelta(days=2)).isoformat()
            ),
            "invalid_recurrence",
        ),
    ]
    for body, code in cases:
        response = await yibin.client.post("/v1/activities", json=body, headers=yibin.province)
        assert response.status_code == 422, body
        assert response.json()["code"] == code, response.json()
        assert response.headers["content-type"] == "application/problem+json"
    unknown = await yibin.client.post(
        "/v1/activities", json={**activity_body(), "colour": "red"}, headers=yibin.province
    )
    assert unknown.status_code == 422
    assert await yibin.count("activities") == 0
    assert await yibin.events() == []


async def test_bad_changes_are_refused_with_a_code_and_change_nothing(yibin: Events) -> None:
    single = await schedule(yibin)
    weekly = await schedule(yibin, rrule="FREQ=WEEKLY;COUNT=3", venue="B馆")
    start = datetime.fromisoformat(single["starts_at"])
    second = weekly["occurrences"][1]["key"]
    later = {"starts_at": (start + timedelta(days=2)).isoformat()}
    later["ends_at"] = (start + timedelta(days=2, hours=1)).isoformat()
    first_start = datetime.fromisoformat(weekly["starts_at"])
    onto_the_first = {"starts_at": first_start.isoformat()}
    onto_the_first["ends_at"] = (first_start + timedelta(hours=1)).isoformat()
    cases = [  # (method, path, body, status, code)
        ("patch", "", {"registration_opens_at": naive(start)}, 422, "invalid_schedule"),
        ("patch", "", {"registration_closes_at": naive(start)}, 422, "invalid_schedule"),
        ("patch", "", {"registration_opens_at": later["starts_at"]}, 422, "invalid_schedule"),
        ("patch", "", {"ends_at": naive(start + timedelta(hours=1))}, 422, "invalid_schedule"),
        ("patch", "", {"capacity": 0}, 422, "validation_error"),
        ("patch", "", {"capacity": -3}, 422, "validation_error"),
        ("patch", "", {"title": None}, 422, "validation_error"),
        ("patch", "", {"rrule": "FREQ=WEEKLY;COUNT=2;INTERVAL=0"}, 422, "invalid_recurrence"),
        ("post", "/occurrences/once/move", later, 409, "not_a_series"),
        ("post", "/occurrences/once/cancel", {"reason": "场地检修"}, 409, "not_a_series"),
    ]
    weekly_cases = [
        ("post", f"/occurrences/{second}/move", onto_the_first, 422, "invalid_recurrence"),
        (
            "post",
            "/occurrences/20990101T010000Z/cancel",
            {"reason": "x"},
            404,
            "unknown_occurrence",
        ),
    ]
    auth = {**yibin.auth(Role.CITY_OPERATOR, YIBIN), "If-Match": "*"}
    for activity, these in ((single, cases), (weekly, weekly_cases)):
        for method, path, body, status, code in these:
            url = f"/v1/activities/{activity['id']}{path}"
            response = await getattr(yibin.client, method)(url, json=body, headers=auth)
            assert (response.status_code, response.json()["code"]) == (status, code), body
            assert response.headers["content-type"] == "application/problem+json"
    for activity in (single, weekly):
        read = await yibin.client.get(f"/v1/activities/{activity['id']}", headers=yibin.province)
        assert (read.headers["ETag"], read.json()["status"]) == ('"1"', "scheduled")
        assert read.json()["occurrences"] == activity["occurrences"]
    assert len(await yibin.events()) == 2  # the two schedulings, nothing since
    # A cancelled occurrence neither moves nor is cancelled again; nor is a cancelled activity.
    cancelled = await yibin.client.post(
        f"/v1/activities/{weekly['id']}/occurrences/{second}/cancel",
        json={"reason": "暴雨预警"},
        headers=auth,
    )
    assert cancelled.status_code == 200, cancelled.text
    for path, body in ((f"/occurrences/{second}/move", later), ("/cancel", {"reason": "x"})):
        url = f"/v1/activities/{weekly['id']}{path}"
        if path == "/cancel":
            await yibin.client.post(url, json={"reason": "台风"}, headers=auth)
        again = await yibin.client.post(url, json=body, headers=auth)
        assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    naive_range = await yibin.client.get(
        "/v1/activities", params={"from": naive(start)}, headers=yibin.province
    )
    assert (naive_range.status_code, naive_range.json()["code"]) == (422, "validation_error")
