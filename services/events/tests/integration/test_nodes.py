"""The province-wide calendar: every node shows every node's activities (a replica built from
the stream), and only the owner node changes one."""

from __future__ import annotations

import pytest

from shulian_common.auth import Role
from shulian_events.testing import Events, NodeFactory, activity_body

pytestmark = pytest.mark.both_buses

YIBIN, CHENGDU = "511500", "510100"


async def test_a_yibin_activity_shows_on_chengdu_and_only_yibin_changes_it(
    yibin: Events, start_node: NodeFactory
) -> None:
    async with start_node(CHENGDU) as chengdu:
        created = await yibin.client.post(
            "/v1/activities",
            json=activity_body(rrule="FREQ=WEEKLY;COUNT=3"),
            headers=yibin.auth(Role.CITY_OPERATOR, YIBIN),
        )
        activity = created.json()
        await yibin.client.post(
            f"/v1/activities/{activity['id']}/occurrences/{activity['occurrences'][1]['key']}/cancel",
            json={"reason": "暴雨预警"},
            headers={**yibin.province, "If-Match": '"1"'},
        )
        await yibin.drain(chengdu)

        seen = await chengdu.client.get(
            f"/v1/activities/{activity['id']}", headers=chengdu.province
        )
        listed = await chengdu.client.get(
            "/v1/activities", params={"city": YIBIN}, headers=chengdu.province
        )
        patch = await chengdu.client.patch(
            f"/v1/activities/{activity['id']}",
            json={"title": "改个名"},
            headers={**chengdu.province, "If-Match": "*"},
        )
        feed = await chengdu.client.get("/v1/calendar.ics", headers=chengdu.province)

        assert seen.status_code == 200
        assert (seen.json()["owner_node"], seen.json()["version"]) == (YIBIN, 2)
        assert [o["cancelled"] for o in seen.json()["occurrences"]] == [False, True, False]
        assert [a["id"] for a in listed.json()["items"]] == [activity["id"]]
        assert (patch.status_code, patch.json()["code"]) == (409, "not_owner_node")
        assert b"EXDATE" in feed.content
        assert await chengdu.events() == []  # a replica publishes nothing
        # Replays and redeliveries of an older snapshot change nothing.
        await yibin.drain(chengdu)
        again = await chengdu.client.get(
            f"/v1/activities/{activity['id']}", headers=chengdu.province
        )
        assert again.json()["version"] == 2
