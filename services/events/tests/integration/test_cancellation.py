"""Cancelling an occurrence, or the whole activity, cancels its registrations still in (pending
approval, confirmed, waiting) with reason ``activity_cancelled``; the owner publishes each one and
the requesters' nodes follow. Two nodes: a Yibin activity, registrations asked for from Chengdu."""

from __future__ import annotations

from datetime import datetime

import pytest

from shulian_common.auth import Role
from shulian_events.testing import Events, NodeFactory, ask, publish_participants, schedule

pytestmark = pytest.mark.both_buses

YIBIN, CHENGDU = "511500", "510100"
START = datetime.fromisoformat("2030-03-02T09:00:00+08:00")
SECOND, THIRD = "20300309T010000Z", "20300316T010000Z"


async def _seen(node: Events, registration_id: str) -> tuple[str, str | None]:
    response = await node.client.get(f"/v1/registrations/{registration_id}", headers=node.province)
    assert response.status_code == 200, response.text
    return response.json()["status"], response.json()["reason_code"]


async def test_cancelling_the_activity_cancels_its_registrations_on_both_nodes(
    yibin: Events, start_node: NodeFactory
) -> None:
    async with start_node(CHENGDU) as chengdu:
        activity = await schedule(yibin, capacity=1)
        suppliers = [f"{n:032x}" for n in range(1, 4)]
        await publish_participants(yibin, suppliers)
        await yibin.drain(chengdu)
        asked = [await ask(chengdu, activity["id"], s) for s in suppliers[:2]]
        await yibin.drain(chengdu)
        refused = await ask(chengdu, activity["id"], "f" * 32)  # not in the registry: rejected
        await yibin.drain(chengdu)
        before = [await _seen(chengdu, r) for r in [*asked, refused]]

        cancelled = await yibin.client.post(
            f"/v1/activities/{activity['id']}/cancel",
            json={"reason": "台风预警"},
            headers={**yibin.auth(Role.CITY_OPERATOR, YIBIN), "If-Match": '"1"'},
        )
        assert cancelled.status_code == 200, cancelled.text
        await yibin.drain(chengdu)
        late = await ask(chengdu, activity["id"], suppliers[2])  # after the cancellation
        await yibin.drain(chengdu)

        assert before == [
            ("confirmed", None),
            ("waitlisted", None),
            ("rejected", "unknown_participant"),
        ]
        for node in (yibin, chengdu):
            # The rejected one stays as it was; the two still in are cancelled, nobody promoted.
            assert [await _seen(node, r) for r in [*asked, refused]] == [
                ("cancelled", "activity_cancelled"),
                ("cancelled", "activity_cancelled"),
                ("rejected", "unknown_participant"),
            ]
        assert await _seen(chengdu, late) == ("rejected", "activity_closed")
        at_owner = await yibin.client.get(f"/v1/registrations/{asked[0]}", headers=yibin.province)
        assert at_owner.json()["reason"] == "活动已取消：台风预警"
        published = await yibin.events("registration.cancelled")
        assert [(e["key"], e["data"]["id"]) for e in published] == [
            (activity["id"], r) for r in asked
        ]


async def test_cancelling_one_occurrence_cancels_only_its_registrations(
    yibin: Events, start_node: NodeFactory
) -> None:
    async with start_node(CHENGDU) as chengdu:
        activity = await schedule(
            yibin, starts_at=START, rrule="FREQ=WEEKLY;COUNT=4", approval_required=True
        )
        suppliers = [f"{n:032x}" for n in range(1, 4)]
        await publish_participants(yibin, suppliers)
        await yibin.drain(chengdu)
        on_third = await ask(chengdu, activity["id"], suppliers[0], THIRD)  # pending approval
        on_second = await ask(chengdu, activity["id"], suppliers[1], SECOND)
        await yibin.drain(chengdu)
        pending = [await _seen(chengdu, r) for r in (on_third, on_second)]

        cancelled = await yibin.client.post(
            f"/v1/activities/{activity['id']}/occurrences/{THIRD}/cancel",
            json={"reason": "场地检修"},
            headers={**yibin.auth(Role.CITY_OPERATOR, YIBIN), "If-Match": '"1"'},
        )
        assert cancelled.status_code == 200, cancelled.text
        await yibin.drain(chengdu)

        assert pending == [("pending", None), ("pending", None)]
        for node in (yibin, chengdu):
            assert await _seen(node, on_third) == ("cancelled", "activity_cancelled")
            assert await _seen(node, on_second) == ("pending", None)  # another occurrence
        approved = await yibin.client.post(
            f"/v1/registrations/{on_second}/approve",
            headers=yibin.auth(Role.CITY_OPERATOR, YIBIN),
        )
        assert approved.json()["status"] == "confirmed"
