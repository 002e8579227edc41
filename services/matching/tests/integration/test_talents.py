"""Talents take job orders: profile masked to all but the talent, apply, accept with head count."""

from __future__ import annotations

from typing import Any

import pytest

from shulian_matching.testing import YIBIN, Matching, job_order, operator, place

pytestmark = pytest.mark.both_buses  # each test over the local log and over Kafka

PHONE, ID_NUMBER, NAME = "13912345678", "511502199001011230", "李晓红"


def talent(node: Matching, account: str) -> dict[str, str]:
    """Bearer header of a talent account."""
    return node.auth("talent", sub=account)


def profile(**extra: Any) -> dict[str, Any]:
    return {
        "name": NAME,
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "occupation_code": "6",
        "skills": ["电工"],
        "county_code": "511502",
        **extra,
    }


async def _profile(node: Matching, account: str, **extra: Any) -> dict[str, Any]:
    response = await node.client.put(
        "/v1/talents/me", json=profile(**extra), headers=talent(node, account)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_personal_data_is_whole_to_the_talent_and_masked_to_operators(
    yibin: Matching,
) -> None:
    mine = await _profile(yibin, "talent-a")
    assert (mine["phone"], mine["id_number"], mine["masked"]) == (PHONE, ID_NUMBER, False)

    seen = await yibin.client.get(f"/v1/talents/{mine['id']}", headers=operator(yibin, YIBIN))
    assert seen.status_code == 200
    assert seen.json()["phone"] == "139****5678"
    assert seen.json()["id_number"] == "511502********1230"
    assert seen.json()["name"] == "李**"
    forbidden = await yibin.client.get(f"/v1/talents/{mine['id']}", headers=talent(yibin, "other"))
    assert forbidden.status_code == 403
    [saved] = await yibin.events("talent.saved")
    assert set(saved["data"]) == {
        "id",
        "owner_node",
        "version",
        "updated_at",
        "occupation_code",
        "skills",
        "county_code",
    }
    again = await yibin.client.put(
        "/v1/talents/me", json=profile(), headers=talent(yibin, "talent-a")
    )
    assert again.status_code == 428


async def test_a_bad_id_number_is_refused_without_echoing_it(yibin: Matching) -> None:
    response = await yibin.client.put(
        "/v1/talents/me", json=profile(id_number="511502199001011235"), headers=talent(yibin, "t")
    )
    assert response.status_code == 422
    assert "511502199001011235" not in response.text
    assert await yibin.count("talents") == 0


async def test_apply_and_accept_within_the_head_count(yibin: Matching) -> None:
    for account in ("a", "b"):
        await _profile(yibin, account)
    order = await place(yibin, job_order(head_count=1), YIBIN)
    applications = []
    for account in ("a", "b"):
        response = await yibin.client.post(
            f"/v1/orders/{order['id']}/applications", headers=talent(yibin, account)
        )
        assert response.status_code == 201, response.text
        applications.append(response.json()["id"])
    twice = await yibin.client.post(
        f"/v1/orders/{order['id']}/applications", headers=talent(yibin, "a")
    )
    assert twice.json()["code"] == "duplicate_application"
    listed = await yibin.client.get(
        f"/v1/orders/{order['id']}/applications", headers=operator(yibin, YIBIN)
    )
    assert {i["talent"]["phone"] for i in listed.json()["items"]} == {"139****5678"}

    decision = f"/v1/orders/{order['id']}/applications/{{}}/decision"
    first = await yibin.client.post(
        decision.format(applications[0]), json={"accept": True}, headers=operator(yibin, YIBIN)
    )
    second = await yibin.client.post(
        decision.format(applications[1]), json={"accept": True}, headers=operator(yibin, YIBIN)
    )

    assert first.json()["status"] == "accepted"
    assert second.status_code == 409
    assert second.json()["code"] == "head_count_reached"
    declined = await yibin.client.post(
        decision.format(applications[1]), json={"accept": False}, headers=operator(yibin, YIBIN)
    )
    assert declined.json()["status"] == "declined"
    final = (await yibin.client.get(f"/v1/orders/{order['id']}", headers=yibin.province)).json()
    assert (final["status"], final["accepted_count"]) == ("awarded", 1)
    decided = await yibin.events("application.decided")
    assert [e["data"]["status"] for e in decided] == ["accepted", "declined"]


async def test_a_supplier_cannot_apply_and_a_talent_cannot_grab(yibin: Matching) -> None:
    await _profile(yibin, "a")
    job = await place(yibin, job_order(), YIBIN)
    grab = await yibin.client.post(f"/v1/orders/{job['id']}/grabs", headers=talent(yibin, "a"))
    assert grab.status_code == 403
    assert grab.json()["code"] == "role_not_allowed"
    supplier_apply = await yibin.client.post(
        f"/v1/orders/{job['id']}/applications",
        headers=yibin.auth("supplier", supplier_id="s1", sub="s1"),
    )
    assert supplier_apply.json()["code"] == "role_not_allowed"
