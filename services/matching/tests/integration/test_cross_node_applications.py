"""A talent whose profile is held in Chengdu applies to a Yibin job order: the application
travels as a command to Yibin, which receives it; Yibin's placer answers it, and the answer
travels back. Only a pseudonymous reference and occupation, skills and county leave Chengdu."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shulian_matching.testing import (
    CHENGDU,
    YIBIN,
    Matching,
    NodeStarter,
    cancel,
    job_order,
    operator,
    place,
)

pytestmark = pytest.mark.both_buses  # each test over the local log and over Kafka

PHONE, ID_NUMBER, NAME = "13912345678", "510104199001011230", "王小明"


def talent(node: Matching, account: str) -> dict[str, str]:
    return node.auth("talent", sub=account)


async def _profile(node: Matching, account: str) -> dict[str, Any]:
    body = {
        "name": NAME,
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "occupation_code": "6",
        "skills": ["电工"],
        "county_code": "510104",
    }
    response = await node.client.put("/v1/talents/me", json=body, headers=talent(node, account))
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def _apply(node: Matching, order_id: str, account: str) -> str:
    """Apply, then retry with the same ``Idempotency-Key``: the retry returns the first request."""
    headers = {**talent(node, account), "Idempotency-Key": f"apply-{account}-{order_id}"}
    url = f"/v1/orders/{order_id}/applications"
    response = await node.client.post(url, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    location: str = response.headers["Location"]
    assert location == f"/v1/applications/{response.json()['id']}"
    retry = await node.client.post(url, headers=headers)
    assert retry.status_code == 202, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == response.json()["id"]
    return location


async def _follow(node: Matching, location: str, account: str) -> tuple[str, Any]:
    response = await node.client.get(location, headers=talent(node, account))
    assert response.status_code == 200, response.text
    return response.json()["status"], response.json()["reason"]


async def test_a_talent_applies_to_another_nodes_job_order_and_hears_the_answer(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        a, b = await _profile(chengdu, "a"), await _profile(chengdu, "b")
        order = await place(yibin, job_order(head_count=1, visibility="province"), YIBIN)
        await yibin.drain(chengdu)

        first, second = (
            await _apply(chengdu, order["id"], "a"),
            await _apply(chengdu, order["id"], "b"),
        )
        assert await _follow(chengdu, first, "a") == ("pending", None)
        other = await chengdu.client.get(first, headers=talent(chengdu, "b"))
        assert other.status_code == 403
        await yibin.drain(chengdu)
        assert await _follow(chengdu, first, "a") == ("applied", None)

        # The placer in Yibin sees the applications: occupation, skills, county, nothing personal.
        listed = await yibin.client.get(
            f"/v1/orders/{order['id']}/applications", headers=operator(yibin, YIBIN)
        )
        assert listed.status_code == 200
        items = {i["talent_id"]: i for i in listed.json()["items"]}
        assert set(items) == {a["id"], b["id"]}
        assert items[a["id"]]["talent_node"] == CHENGDU
        assert items[a["id"]]["talent"] is None
        assert (items[a["id"]]["occupation_code"], items[a["id"]]["skills"]) == ("6", ["电工"])
        for secret in (PHONE, ID_NUMBER, NAME, PHONE[-4:]):
            assert secret not in listed.text

        decision = f"/v1/orders/{order['id']}/applications/{{}}/decision"
        accepted = await yibin.client.post(
            decision.format(items[a["id"]]["id"]),
            json={"accept": True},
            headers=operator(yibin, YIBIN),
        )
        assert accepted.json()["status"] == "accepted"
        over = await yibin.client.post(
            decision.format(items[b["id"]]["id"]),
            json={"accept": True},
            headers=operator(yibin, YIBIN),
        )
        assert over.json()["code"] == "head_count_reached"  # the owner keeps the head count
        declined = await yibin.client.post(
            decision.format(items[b["id"]]["id"]),
            json={"accept": False},
            headers=operator(yibin, YIBIN),
        )
        assert declined.json()["status"] == "declined"
        await yibin.drain(chengdu)

        assert await _follow(chengdu, first, "a") == ("accepted", None)
        assert await _follow(chengdu, second, "b") == ("declined", None)
        replica = await chengdu.client.get(f"/v1/orders/{order['id']}", headers=chengdu.province)
        assert (replica.json()["status"], replica.json()["accepted_count"]) == ("awarded", 1)
        # Chengdu only asked; Yibin received and answered; nothing personal left Chengdu.
        requests = await chengdu.events("application.requested")
        assert len(requests) == 2
        assert {frozenset(r["data"]) for r in requests} == {
            frozenset(
                {
                    "request_id",
                    "requester_node",
                    "target_id",
                    "target_owner_node",
                    "talent_ref",
                    "occupation_code",
                    "skills",
                    "county_code",
                }
            )
        }
        assert len(await yibin.events("application.received")) == 2
        assert await chengdu.events("application.decided") == []
        sent = json.dumps(await chengdu.events() + await yibin.events(), ensure_ascii=False)
        for secret in (PHONE, ID_NUMBER, NAME):
            assert secret not in sent


async def test_the_owner_refuses_an_application_to_an_order_no_longer_open(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        await _profile(chengdu, "a")
        order = await place(yibin, job_order(visibility="province"), YIBIN)
        await yibin.drain(chengdu)
        await cancel(yibin, order["id"], YIBIN)
        # Chengdu has not heard of the cancellation yet: its replica still says open.
        location = await _apply(chengdu, order["id"], "a")
        await yibin.drain(chengdu)

        assert await _follow(chengdu, location, "a") == ("rejected", "illegal_transition")
        assert await yibin.count("applications") == 0
        [refusal] = await yibin.events("application.received")
        assert refusal["data"]["outcome"] == "rejected"


async def test_an_order_not_open_to_the_talents_city_is_refused_at_once(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        await _profile(chengdu, "a")
        order = await place(yibin, job_order(visibility="own_city"), YIBIN)
        await yibin.drain(chengdu)
        response = await chengdu.client.post(
            f"/v1/orders/{order['id']}/applications", headers=talent(chengdu, "a")
        )
        assert response.status_code == 409
        assert response.json()["code"] == "wrong_order_kind"
        assert await chengdu.count("applications") == 0
        assert await chengdu.count("requests") == 0


async def test_a_job_order_ranks_other_nodes_talents_without_their_personal_data(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        there = await _profile(chengdu, "a")
        here = await yibin.client.put(
            "/v1/talents/me",
            json={
                "name": "李晓红",
                "phone": "13812345678",
                "id_number": "511502199001011230",
                "occupation_code": "4",
                "skills": [],
                "county_code": "511502",
            },
            headers=talent(yibin, "b"),
        )
        assert here.status_code == 201, here.text
        order = await place(
            yibin, job_order(visibility="province", skills=["电工"]), YIBIN
        )  # occupation 6, like Chengdu's talent
        await yibin.drain(chengdu)

        ranked = await yibin.client.get(
            f"/v1/orders/{order['id']}/candidates", headers=operator(yibin, YIBIN)
        )
        assert ranked.status_code == 200, ranked.text
        body = ranked.json()
        assert body["eligible"] == 2
        first, second = body["items"]
        assert (first["id"], first["city_code"], first["name"]) == (
            there["id"],
            CHENGDU,
            f"{CHENGDU}节点人才",
        )
        assert first["score"] == 0.8  # occupation and skills, not the same city
        assert (second["id"], second["name"]) == (here.json()["id"], "李**")
        for secret in (PHONE, ID_NUMBER, NAME):
            assert secret not in ranked.text
        # An own-city order ranks only its city's talents.
        local = await place(yibin, job_order(), YIBIN)
        await yibin.drain(chengdu)
        only = await yibin.client.get(
            f"/v1/orders/{local['id']}/candidates", headers=operator(yibin, YIBIN)
        )
        assert [c["id"] for c in only.json()["items"]] == [here.json()["id"]]
