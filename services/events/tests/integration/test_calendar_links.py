"""A calendar app subscribes to a link: the .ics feeds answer a key in the URL (apps send no
headers), the key reads the calendar feeds and nothing else, and a bad key is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from icalendar import Calendar

from shulian_common.auth import Role, mint_token
from shulian_events.testing import Events, activity_body

SUBSCRIPTION = "/v1/calendar/subscription"


async def _two_activities(node: Events) -> str:
    fair = activity_body(kind="park_tour")
    tour = activity_body("511502", kind="village_tour", campaign=None, industries=["liquor_food"])
    ids = []
    for body in (fair, tour):
        response = await node.client.post("/v1/activities", json=body, headers=node.province)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return str(ids[1])


def _path_and_query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


async def test_a_calendar_app_reads_the_feed_by_the_link_alone(yibin: Events) -> None:
    tour = await _two_activities(yibin)
    operator = yibin.auth(Role.CITY_OPERATOR, "511500")
    response = await yibin.client.get(
        SUBSCRIPTION, params={"kind": "village_tour"}, headers=operator
    )
    assert response.status_code == 200, response.text
    link = response.json()
    assert link["webcal_url"] == "webcal://" + link["url"].split("://", 1)[1]
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(days=360) < expires - datetime.now(UTC) < timedelta(days=367)
    path, query = _path_and_query(link["url"])
    assert path == "/v1/calendar.ics"
    assert query["kind"] == "village_tour"
    assert query["key"]

    # As a calendar app fetches it: the URL, no Authorization header.
    feed = await yibin.client.get(path, params=query)
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert [str(e["UID"]).split("@")[0] for e in events] == [tour]
    one = await yibin.client.get(f"/v1/activities/{tour}.ics", params={"key": query["key"]})
    assert one.status_code == 200, one.text


async def test_the_key_opens_the_calendar_feeds_and_nothing_else(yibin: Events) -> None:
    await _two_activities(yibin)
    response = await yibin.client.get(SUBSCRIPTION, headers=yibin.province)
    key = _path_and_query(response.json()["url"])[1]["key"]

    for path in ("/v1/activities", "/v1/registrations/nope", SUBSCRIPTION):
        refused = await yibin.client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 401, (path, refused.text)
        assert refused.json()["code"] == "invalid_token"


async def test_feeds_refuse_a_missing_or_wrong_key(yibin: Events) -> None:
    await _two_activities(yibin)
    bearer = yibin.province["Authorization"].removeprefix("Bearer ")
    expired = mint_token(
        yibin.settings, role=Role.PROVINCE_ADMIN, node="510000", ttl_seconds=-3600,
        audience="shulian:calendar",
    )  # fmt: skip
    cases = {
        None: "unauthorized",
        "not-a-token": "invalid_token",
        bearer: "invalid_token",  # an API token is no calendar key
        expired: "token_expired",
    }
    for key, code in cases.items():
        params = {} if key is None else {"key": key}
        refused = await yibin.client.get("/v1/calendar.ics", params=params)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == code, (key, refused.text)
    # A bearer token still reads the feed, as before.
    assert (await yibin.client.get("/v1/calendar.ics", headers=yibin.province)).status_code == 200


async def test_the_link_is_built_on_the_public_url_when_one_is_set(yibin: Events) -> None:
    app = yibin.app
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"public_url": "https://cal.example.cn/ev/"})
    try:
        response = await yibin.client.get(SUBSCRIPTION, headers=yibin.province)
    finally:
        app.state.settings = settings
    assert response.json()["url"].startswith("https://cal.example.cn/ev/v1/calendar.ics?key=")
    assert response.json()["webcal_url"].startswith("webcal://cal.example.cn/ev/v1/calendar.ics")
    assert isinstance(httpx.URL(response.json()["url"]), httpx.URL)


async def test_a_calendar_app_polling_its_link_downloads_the_feed_only_when_it_changed(
    yibin: Events,
) -> None:
    """Apps poll their subscriptions with the ETag they hold: 304 and no body until an activity
    changes, then the new feed under a new ETag."""
    tour = await _two_activities(yibin)
    link = (await yibin.client.get(SUBSCRIPTION, headers=yibin.province)).json()
    path, query = _path_and_query(link["url"])
    for url in (path, f"/v1/activities/{tour}.ics"):
        first = await yibin.client.get(url, params=query)
        assert first.status_code == 200
        tag = first.headers["etag"]
        for held in (tag, f"W/{tag}", f'"stale", {tag}', "*"):
            polled = await yibin.client.get(url, params=query, headers={"If-None-Match": held})
            assert (polled.status_code, polled.content) == (304, b""), held
            assert polled.headers["etag"] == tag
        stale = await yibin.client.get(url, params=query, headers={"If-None-Match": '"stale"'})
        assert (stale.status_code, stale.content) == (200, first.content)

    tags = {}
    for url in (path, f"/v1/activities/{tour}.ics"):
        tags[url] = (await yibin.client.get(url, params=query)).headers["etag"]
    renamed = await yibin.client.patch(
        f"/v1/activities/{tour}",
        json={"title": "宜宾乡村行（改期通知）"},
        headers={**yibin.province, "If-Match": '"1"'},
    )
    assert renamed.status_code == 200, renamed.text
    for url, tag in tags.items():
        polled = await yibin.client.get(url, params=query, headers={"If-None-Match": tag})
        assert polled.status_code == 200, url
        assert polled.headers["etag"] != tag
        assert "宜宾乡村行（改期通知）" in Calendar.from_ical(polled.content).to_ical().decode()
