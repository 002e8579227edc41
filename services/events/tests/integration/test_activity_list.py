"""The activity list renders its rows itself (one statement, activities joined to their
occurrences, fields read by position): every item must be what ``ActivityRead`` renders for the
same activity, on a page as varied as the calendar holds, across cursor pages of every size."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Role
from shulian_common.schemas import Page
from shulian_common.testing.responses import assert_conforms
from shulian_events import repository
from shulian_events.api.views import activity_view
from shulian_events.orm import Activity, Occurrence
from shulian_events.schemas import ActivityRead
from shulian_events.testing import Events, activity_body, soon

YIBIN = "511500"
SERIES_START = datetime.fromisoformat("2031-03-01T09:00:00+08:00")  # a Saturday


async def _post(
    node: Events, path: str, body: dict[str, Any], if_match: str | None = None
) -> dict[str, Any]:
    headers = node.auth(Role.CITY_OPERATOR, YIBIN)
    if if_match is not None:
        headers["If-Match"] = if_match
    response = await node.client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    created: dict[str, Any] = response.json()
    return created


async def _varied_calendar(node: Events) -> dict[str, str]:
    """Activities differing in every rendered way; their ids by what is special about them."""
    ids: dict[str, str] = {}
    ids["plain"] = (await _post(node, "/v1/activities", activity_body()))["id"]
    bare = activity_body(
        "511502",
        kind="campus_tour",
        campaign=None,
        industries=[],
        host_kind="park",
        host_name="宜宾三江新区",
        approval_required=True,
        registration_opens_at=soon(1).isoformat(),
        registration_closes_at=soon(5).isoformat(),
        starts_at=soon(9, hour=2),
    )
    ids["county"] = (await _post(node, "/v1/activities", bare))["id"]
    series_body = activity_body(
        starts_at=SERIES_START,
        rrule="FREQ=WEEKLY;COUNT=4",
        kind="park_tour",
        industries=["digital_economy", "power_batteries"],
    )
    series = (await _post(node, "/v1/activities", series_body))["id"]
    ids["series"] = series
    url = f"/v1/activities/{series}/occurrences"
    moved = SERIES_START + timedelta(days=8, hours=5)
    await _post(
        node,
        f"{url}/20310308T010000Z/move",
        {"starts_at": moved.isoformat(), "ends_at": (moved + timedelta(hours=2)).isoformat()},
        if_match='"1"',
    )
    await _post(node, f"{url}/20310315T010000Z/cancel", {"reason": "场地检修"}, if_match="*")
    done = (await _post(node, "/v1/activities", activity_body(starts_at=soon(-3))))["id"]
    await _post(node, f"/v1/activities/{done}/hold", {}, if_match="*")
    outcome = {"positions_offered": 320, "intents_signed": 45, "firms_participated": 28}
    await _post(node, f"/v1/activities/{done}/complete", outcome, if_match="*")
    ids["completed"] = done
    dropped = (await _post(node, "/v1/activities", activity_body(campaign="jobs_to_campus")))["id"]
    await _post(node, f"/v1/activities/{dropped}/cancel", {"reason": "天气原因"}, if_match="*")
    ids["cancelled"] = dropped
    ids["no occurrence"] = (await _post(node, "/v1/activities", activity_body()))["id"]
    async with node.runtime.engine.begin() as connection:  # the outer join's null row
        missing = Occurrence.activity_id == ids["no occurrence"]
        await connection.execute(delete(Occurrence).where(missing))
    return ids


async def _modelled(node: Events, activity_id: str) -> dict[str, Any]:
    """The activity as ``ActivityRead`` renders it (no warnings: the list checks no clashes)."""
    async with AsyncSession(node.runtime.engine) as session:
        row = await session.get(Activity, activity_id)
        assert row is not None
        occurrences = await repository.occurrences_of(session, [activity_id])
        rendered: dict[str, Any] = activity_view(row, occurrences).model_dump(mode="json")
    return rendered


async def _walk(node: Events, **params: Any) -> list[dict[str, Any]]:
    """Every item of the list, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await node.client.get("/v1/activities", params=query, headers=node.province)
        assert response.status_code == 200, response.text
        page = assert_conforms(Page[ActivityRead], response.content)
        assert len(page["items"]) <= params.get("limit", 20)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_every_listed_activity_is_what_its_model_renders(yibin: Events) -> None:
    ids = await _varied_calendar(yibin)

    items = await _walk(yibin, limit=100)

    assert [item["id"] for item in items] == sorted(ids.values())
    for item in items:
        assert item == await _modelled(yibin, item["id"])
    by_id = {item["id"]: item for item in items}
    series = by_id[ids["series"]]["occurrences"]
    assert [(o["moved"], o["cancelled"]) for o in series] == [
        (False, False),
        (True, False),
        (False, True),
        (False, False),
    ]
    assert by_id[ids["no occurrence"]]["occurrences"] == []
    assert by_id[ids["completed"]]["outcome"]["firms_participated"] == 28
    county = by_id[ids["county"]]
    assert (county["campaign"], county["campaign_label"], county["industries"]) == (None, None, [])


async def test_pages_of_every_size_hold_each_activity_once_with_all_its_occurrences(
    yibin: Events,
) -> None:
    await _varied_calendar(yibin)
    whole = await _walk(yibin, limit=100)

    for limit in (1, 2, 3, 4):
        # A series (four joined rows) falls on or just past a page's end for some sizes.
        assert await _walk(yibin, limit=limit) == whole


async def test_a_filtered_list_shows_an_activity_with_all_its_occurrences(yibin: Events) -> None:
    ids = await _varied_calendar(yibin)
    moved = SERIES_START + timedelta(days=8, hours=5)

    window = {"from": moved.isoformat(), "to": (moved + timedelta(hours=1)).isoformat()}
    [item] = await _walk(yibin, **window)
    by_industry = await _walk(yibin, industry="digital_economy", kind="park_tour", city=YIBIN)

    assert item["id"] == ids["series"]
    assert len(item["occurrences"]) == 4  # not only the one in the window
    assert item == await _modelled(yibin, ids["series"])
    assert by_industry == [item]


async def test_a_page_is_one_statement_its_values_bound(yibin: Events) -> None:
    await _varied_calendar(yibin)
    sent: list[str] = []

    def record(*args: Any) -> None:  # before_cursor_execute(conn, cursor, statement, ...)
        if "activities" in args[2] or "occurrences" in args[2]:
            sent.append(args[2])

    engine = yibin.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for city in (YIBIN, "510100"):
            response = await yibin.client.get(
                "/v1/activities", params={"city": city, "limit": 2}, headers=yibin.province
            )
            assert response.status_code == 200, response.text
    finally:
        event.remove(engine, "before_cursor_execute", record)

    # One round trip a page (occurrences joined, not fetched by a second query), and the
    # same SQL for other values: one prepared statement per shape, not one per city.
    assert len(sent) == 2
    assert sent[0] == sent[1]
