"""Registrations for another node's activity: requested on any node, decided by the owner in log
order. A Yibin activity registered for from Chengdu; 300 concurrent requests from three nodes for
100 places give exactly 100 places and a waiting list in the order of the command log."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete

from shulian_common.auth import Role
from shulian_events.contracts import REGISTRATION_REQUESTS_TOPIC
from shulian_events.orm import Activity
from shulian_events.testing import (
    Events,
    NodeFactory,
    activity_body,
    ask,
    command_log,
    publish_participants,
)

YIBIN, CHENGDU, PROVINCE = "511500", "510100", "510000"


async def _yibin_activity(yibin: Events, capacity: int) -> dict[str, Any]:
    response = await yibin.client.post(
        "/v1/activities",
        json=activity_body(capacity=capacity),
        headers=yibin.auth(Role.CITY_OPERATOR, YIBIN),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.both_buses
async def test_a_yibin_activity_registered_for_from_chengdu(
    yibin: Events, start_node: NodeFactory
) -> None:
    async with start_node(CHENGDU) as chengdu:
        activity = await _yibin_activity(yibin, capacity=1)
        first, second = "1" * 32, "2" * 32
        await publish_participants(yibin, [first, second], owner_node=CHENGDU)
        await yibin.drain(chengdu)  # Chengdu's calendar now shows the Yibin activity

        asked = await ask(chengdu, activity["id"], first)
        pending = await chengdu.client.get(f"/v1/registrations/{asked}", headers=chengdu.province)
        await yibin.drain(chengdu)
        decided = await chengdu.client.get(
            f"/v1/registrations/{asked}",
            headers=chengdu.auth(Role.SUPPLIER, supplier_id=first),
        )
        at_owner = await yibin.client.get(f"/v1/registrations/{asked}", headers=yibin.province)
        again = await chengdu.client.post(  # Chengdu's replica shows it in: refused, not sent
            f"/v1/activities/{activity['id']}/registrations",
            json={"participant_kind": "supplier", "participant_id": first},
            headers=chengdu.auth(Role.SUPPLIER, supplier_id=first),
        )
        waiting = await ask(chengdu, activity["id"], second)
        await yibin.drain(chengdu)
        # The participant withdraws at the owner node; Chengdu sees the waiting one move up.
        await yibin.client.post(
            f"/v1/registrations/{asked}/cancel",
            headers=yibin.auth(Role.SUPPLIER, supplier_id=first),
        )
        await yibin.drain(chengdu)
        promoted = await chengdu.client.get(
            f"/v1/registrations/{waiting}", headers=chengdu.province
        )

        assert pending.json()["status"] == "pending_decision"
        assert pending.json()["owner_node"] == YIBIN
        assert decided.status_code == 200
        assert (decided.json()["status"], decided.json()["requester_node"]) == (
            "confirmed",
            CHENGDU,
        )
        assert at_owner.json()["status"] == "confirmed"
        assert (again.status_code, again.json()["code"]) == (409, "already_registered")
        assert promoted.json()["status"] == "confirmed"
        assert await chengdu.count("registrations") == 2  # the replica
        sent = await chengdu.events("registration.requested")
        assert [(e["topic"], e["key"]) for e in sent] == [
            (REGISTRATION_REQUESTS_TOPIC, activity["id"])
        ] * 2


@pytest.mark.both_buses
async def test_a_request_for_an_activity_the_owner_does_not_hold_is_refused(
    yibin: Events, start_node: NodeFactory
) -> None:
    async with start_node(CHENGDU) as chengdu:
        activity = await _yibin_activity(yibin, capacity=1)
        await yibin.drain(chengdu)
        # Yibin's database loses the activity (say, a restore from an older backup).
        async with yibin.runtime.uow_factory() as uow:
            await uow.session.execute(delete(Activity).where(Activity.id == activity["id"]))
            await uow.commit()
        asked = await ask(chengdu, activity["id"], "3" * 32)
        await yibin.drain(chengdu)

        seen = await chengdu.client.get(f"/v1/registrations/{asked}", headers=chengdu.province)
        assert (seen.json()["status"], seen.json()["reason_code"]) == ("rejected", "unknown_target")


@pytest.mark.both_buses
async def test_300_concurrent_requests_from_three_nodes_for_100_places(
    yibin: Events, start_node: NodeFactory
) -> None:
    async with start_node(CHENGDU) as chengdu, start_node(PROVINCE) as province:
        nodes = (yibin, chengdu, province)
        activity = await _yibin_activity(yibin, capacity=100)
        suppliers = [f"{n:032x}" for n in range(1, 301)]
        await publish_participants(yibin, suppliers)
        await yibin.drain(chengdu, province, timeout=120)

        # All 300 in flight at once; each node serves 8 at a time, as a server's worker pool
        # would (and as the test PostgreSQL's connection limit, shared with other suites, needs).
        gates = [asyncio.Semaphore(8) for _ in nodes]

        async def ask_at(n: int, supplier: str) -> str:
            async with gates[n % 3]:
                return await ask(nodes[n % 3], activity["id"], supplier)

        asked = await asyncio.gather(*(ask_at(n, s) for n, s in enumerate(suppliers)))
        await yibin.drain(chengdu, province, timeout=240)

        log = await command_log(yibin, REGISTRATION_REQUESTS_TOPIC)
        assert sorted(log) == sorted(asked)  # every request is on the log, once
        listed = await yibin.client.get(
            f"/v1/activities/{activity['id']}/registrations", headers=yibin.province
        )
        rows = listed.json()
        assert [r["id"] for r in rows] == log  # decided in log order
        assert [r["seq"] for r in rows] == list(range(1, 301))
        assert [r["status"] for r in rows] == ["confirmed"] * 100 + ["waitlisted"] * 200
        assert {r["requester_node"] for r in rows} == {YIBIN, CHENGDU, PROVINCE}
        for node in nodes:
            counts = await node.client.get(
                f"/v1/activities/{activity['id']}/registrations", headers=node.province
            )
            assert len(counts.json()) == 300  # every node follows the owner's decisions
