"""Registrations decided by the owner node: capacity, the waiting list promoted in order,
approval, only existing non-delisted suppliers, suppliers only for themselves, check-in on the
day and the completion outcome counted from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Role, mint_token
from shulian_events import repository
from shulian_events.testing import Events, ask, publish_participant, schedule

pytestmark = pytest.mark.both_buses

YIBIN = "511500"


async def _register(node: Events, activity_id: str, supplier: str, **extra: Any) -> dict[str, Any]:
    """Ask as the supplier itself; the owner decides when the node drains its streams."""
    response = await node.client.post(
        f"/v1/activities/{activity_id}/registrations",
        json={"participant_kind": "supplier", "participant_id": supplier, **extra},
        headers=node.auth(Role.SUPPLIER, supplier_id=supplier),
    )
    assert response.status_code == 202, response.text
    asked = response.json()
    assert response.headers["Location"] == f"/v1/registrations/{asked['id']}"
    assert asked["status"] == "pending_decision"
    await node.drain()
    decided = await node.client.get(f"/v1/registrations/{asked['id']}", headers=node.province)
    assert decided.status_code == 200, decided.text
    result: dict[str, Any] = decided.json()
    return result


async def _suppliers(node: Events, count: int) -> list[str]:
    ids = [f"{n:032x}" for n in range(1, count + 1)]
    for supplier in ids:
        await publish_participant(node, supplier)
    return ids


async def _status(node: Events, registration_id: str) -> str:
    response = await node.client.get(f"/v1/registrations/{registration_id}", headers=node.province)
    status: str = response.json()["status"]
    return status


async def test_capacity_then_a_waiting_list_promoted_in_order(yibin: Events) -> None:
    activity = await schedule(yibin, capacity=2)
    suppliers = await _suppliers(yibin, 5)

    made = [await _register(yibin, activity["id"], s) for s in suppliers]

    assert [r["status"] for r in made] == [
        "confirmed",
        "confirmed",
        "waitlisted",
        "waitlisted",
        "waitlisted",
    ]
    assert [r["seq"] for r in made] == [1, 2, 3, 4, 5]
    withdrawn = await yibin.client.post(
        f"/v1/registrations/{made[0]['id']}/cancel",
        headers=yibin.auth(Role.SUPPLIER, supplier_id=suppliers[0]),
    )
    assert withdrawn.json()["status"] == "cancelled"
    assert [await _status(yibin, r["id"]) for r in made] == [
        "cancelled",
        "confirmed",
        "confirmed",  # the first in line moved up
        "waitlisted",
        "waitlisted",
    ]
    organiser = yibin.auth(Role.CITY_OPERATOR, YIBIN)
    await yibin.client.post(f"/v1/registrations/{made[1]['id']}/cancel", headers=organiser)
    assert [await _status(yibin, r["id"]) for r in made[3:]] == ["confirmed", "waitlisted"]
    kinds = [e["type"] for e in await yibin.events() if e["type"].startswith("registration")]
    assert kinds.count("registration.promoted.v1") == 2
    assert {e["key"] for e in await yibin.events("registration.decided")} == {activity["id"]}
    decisions = await yibin.events("registration_request.decided")
    assert [d["data"]["outcome"] for d in decisions] == ["accepted"] * 5
    assert [d["data"]["result"]["status"] for d in decisions] == [
        "confirmed",
        "confirmed",
        "waitlisted",
        "waitlisted",
        "waitlisted",
    ]


async def test_approval_then_places_or_the_waiting_list(yibin: Events) -> None:
    activity = await schedule(yibin, capacity=1, approval_required=True)
    first, second, third = await _suppliers(yibin, 3)
    pending = [await _register(yibin, activity["id"], s) for s in (first, second, third)]
    assert {r["status"] for r in pending} == {"pending"}
    organiser = yibin.auth(Role.CITY_OPERATOR, YIBIN)

    approved = await yibin.client.post(
        f"/v1/registrations/{pending[1]['id']}/approve", headers=organiser
    )
    waiting = await yibin.client.post(
        f"/v1/registrations/{pending[0]['id']}/approve", headers=organiser
    )
    rejected = await yibin.client.post(
        f"/v1/registrations/{pending[2]['id']}/reject", headers=organiser
    )
    again = await yibin.client.post(
        f"/v1/registrations/{pending[2]['id']}/approve", headers=organiser
    )
    by_supplier = await yibin.client.post(
        f"/v1/registrations/{pending[0]['id']}/approve",
        headers=yibin.auth(Role.SUPPLIER, supplier_id=first),
    )

    assert approved.json()["status"] == "confirmed"
    assert waiting.json()["status"] == "waitlisted"
    assert (rejected.json()["status"], rejected.json()["reason_code"]) == (
        "rejected",
        "not_approved",
    )
    assert (again.status_code, again.json()["code"]) == (409, "invalid_registration_step")
    assert (by_supplier.status_code, by_supplier.json()["code"]) == (403, "read_only_role")


async def test_only_existing_non_delisted_suppliers_may_register(yibin: Events) -> None:
    activity = await schedule(yibin)
    listed, delisted = "a" * 32, "b" * 32
    await publish_participant(yibin, listed)
    await publish_participant(yibin, delisted)
    await publish_participant(yibin, delisted, listing_status="delisted", version=2)
    await publish_participant(yibin, delisted, listing_status="listed", version=1)  # late, old

    ok = await _register(yibin, activity["id"], listed)
    gone = await _register(yibin, activity["id"], delisted)
    unknown = await _register(yibin, activity["id"], "c" * 32)
    twice = await yibin.client.post(  # the node already sees it in: refused at once
        f"/v1/activities/{activity['id']}/registrations",
        json={"participant_kind": "supplier", "participant_id": listed},
        headers=yibin.auth(Role.SUPPLIER, supplier_id=listed),
    )

    assert (ok["status"], ok["participant_name"]) == ("confirmed", "宜宾市人力资源服务有限公司")
    assert (gone["status"], gone["reason_code"]) == ("rejected", "delisted_participant")
    assert gone["reason"] == "报名机构已出库，不能报名"
    assert (unknown["status"], unknown["reason_code"]) == ("rejected", "unknown_participant")
    outcomes = [d["data"]["outcome"] for d in await yibin.events("registration_request.decided")]
    assert outcomes == ["accepted", "rejected", "rejected"]
    assert (twice.status_code, twice.json()["code"]) == (409, "already_registered")
    assert twice.headers["content-type"] == "application/problem+json"
    assert await yibin.count("requests") == 3  # nothing sent for the second one
    assert await yibin.count("registrations") == 3


async def test_suppliers_register_only_themselves_and_partners_only_read(yibin: Events) -> None:
    activity = await schedule(yibin)
    mine, theirs = await _suppliers(yibin, 2)
    url = f"/v1/activities/{activity['id']}/registrations"
    body = {"participant_kind": "supplier", "participant_id": theirs}

    other = await yibin.client.post(
        url, json=body, headers=yibin.auth(Role.SUPPLIER, supplier_id=mine)
    )
    partner = await yibin.client.post(url, json=body, headers=yibin.auth(Role.PARTNER))
    by_operator = await yibin.client.post(
        url, json=body, headers=yibin.auth(Role.CITY_OPERATOR, YIBIN)
    )

    assert (other.status_code, other.json()["code"]) == (403, "not_self")
    assert (partner.status_code, partner.json()["code"]) == (403, "read_only_principal")
    assert by_operator.status_code == 202
    await yibin.drain()
    peek = await yibin.client.get(
        f"/v1/registrations/{by_operator.json()['id']}",
        headers=yibin.auth(Role.SUPPLIER, supplier_id=mine),
    )
    assert peek.status_code == 403
    listed = await yibin.client.get(url, headers=yibin.auth(Role.SUPPLIER, supplier_id=mine))
    assert listed.json() == []


async def test_series_registrations_are_per_occurrence(yibin: Events) -> None:
    activity = await schedule(yibin, capacity=1, rrule="FREQ=WEEKLY;COUNT=2")
    first_key, second_key = (o["key"] for o in activity["occurrences"])
    one, two = await _suppliers(yibin, 2)

    missing = await _register(yibin, activity["id"], one)
    a = await _register(yibin, activity["id"], one, occurrence_key=first_key)
    b = await _register(yibin, activity["id"], two, occurrence_key=second_key)

    assert (missing["status"], missing["reason_code"]) == ("rejected", "unknown_occurrence")
    assert a["status"] == b["status"] == "confirmed"
    patch = await yibin.client.patch(
        f"/v1/activities/{activity['id']}",
        json={"rrule": "FREQ=DAILY;COUNT=2"},
        headers={**yibin.province, "If-Match": "*"},
    )
    assert (patch.status_code, patch.json()["code"]) == (409, "series_has_registrations")


async def test_check_in_on_the_day_and_the_outcome_counts_it(yibin: Events) -> None:
    now = datetime.now(UTC)
    activity = await schedule(yibin, starts_at=now - timedelta(minutes=30), capacity=5)
    later = await schedule(yibin, starts_at=now + timedelta(days=3), venue="别处")
    one, two = await _suppliers(yibin, 2)
    first = await _register(yibin, activity["id"], one, hr_managers=3)
    second = await _register(yibin, activity["id"], two, hr_managers=2)
    early = await _register(yibin, later["id"], one)
    organiser = yibin.auth(Role.CITY_OPERATOR, YIBIN)

    checked = await yibin.client.post(
        f"/v1/registrations/{first['id']}/check-in", json={}, headers=organiser
    )
    fewer = await yibin.client.post(
        f"/v1/registrations/{second['id']}/check-in", json={"attendees": 1}, headers=organiser
    )
    twice = await yibin.client.post(
        f"/v1/registrations/{first['id']}/check-in", json={}, headers=organiser
    )
    not_today = await yibin.client.post(
        f"/v1/registrations/{early['id']}/check-in", json={}, headers=organiser
    )

    assert (checked.json()["status"], checked.json()["attendees"]) == ("checked_in", 3)
    assert fewer.json()["attendees"] == 1
    assert twice.json()["code"] == "invalid_registration_step"
    assert (not_today.status_code, not_today.json()["code"]) == (409, "not_on_the_day")
    url = f"/v1/activities/{activity['id']}"
    await yibin.client.post(f"{url}/hold", headers={**organiser, "If-Match": "*"})
    done = await yibin.client.post(
        f"{url}/complete",
        json={"positions_offered": 40, "intents_signed": 6},
        headers={**organiser, "If-Match": "*"},
    )
    assert done.json()["outcome"] == {
        "firms_participated": 2,
        "positions_offered": 40,
        "intents_signed": 6,
        "hr_managers_attended": 4,
    }
    closed = await _register(yibin, activity["id"], "f" * 32)
    assert closed["reason_code"] == "activity_closed"
    # One under way took registrations (above); one that has ended takes none.
    ended = await schedule(yibin, starts_at=now - timedelta(hours=6), venue="已散场")
    over = await _register(yibin, ended["id"], two)
    assert (over["status"], over["reason_code"]) == ("rejected", "occurrence_over")


async def test_a_capacity_increase_promotes_the_waiting_list(yibin: Events) -> None:
    activity = await schedule(yibin, capacity=1)
    suppliers = await _suppliers(yibin, 3)
    made = [await _register(yibin, activity["id"], s) for s in suppliers]

    await yibin.client.patch(
        f"/v1/activities/{activity['id']}",
        json={"capacity": 2},
        headers={**yibin.province, "If-Match": "*"},
    )

    assert [await _status(yibin, r["id"]) for r in made] == ["confirmed", "confirmed", "waitlisted"]


async def test_an_enterprise_registers_itself(yibin: Events) -> None:
    activity = await schedule(yibin)
    enterprise = "e" * 32
    await publish_participant(yibin, enterprise, kind="enterprise", name="宜宾锂宝新材料有限公司")
    url = f"/v1/activities/{activity['id']}/registrations"
    as_itself = yibin.auth(Role.ENTERPRISE, sub="hr@lithium")
    token_without_id = await yibin.client.post(
        url,
        json={"participant_kind": "enterprise", "participant_id": enterprise},
        headers=as_itself,
    )
    assert (token_without_id.status_code, token_without_id.json()["code"]) == (403, "not_self")

    response = await yibin.client.post(
        url,
        json={"participant_kind": "enterprise", "participant_id": enterprise, "hr_managers": 2},
        headers={"Authorization": _enterprise_token(yibin, enterprise)},
    )
    assert response.status_code == 202, response.text
    await yibin.drain()
    seen = await yibin.client.get(
        f"/v1/registrations/{response.json()['id']}", headers=yibin.province
    )
    assert (seen.json()["status"], seen.json()["participant_name"]) == (
        "confirmed",
        "宜宾锂宝新材料有限公司",
    )


def _enterprise_token(node: Events, enterprise_id: str) -> str:
    token = mint_token(node.settings, role=Role.ENTERPRISE, node=YIBIN, enterprise_id=enterprise_id)
    return f"Bearer {token}"


async def test_a_batch_of_requests_is_decided_in_one_transaction_in_log_order(
    yibin: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests queued on the command log while the owner's consumer waits reach it as one
    batch: the occurrence's places are read once for the batch and kept by the decisions, which
    still see one another (capacity exact, a second request of one supplier refused)."""
    activity = await schedule(yibin, capacity=2)
    first, second, third, fourth = await _suppliers(yibin, 4)
    reads: list[str] = []
    places_taken = repository.places_taken

    async def counted(session: AsyncSession, activity_id: str, key: str) -> int:
        reads.append(key)
        return await places_taken(session, activity_id, key)

    monkeypatch.setattr(repository, "places_taken", counted)
    await yibin.stop_workers()  # only drain() moves events from here on
    asked = [await ask(yibin, activity["id"], s) for s in (first, second, first, third, fourth)]
    await yibin.drain()

    rows = (
        await yibin.client.get(
            f"/v1/activities/{activity['id']}/registrations", headers=yibin.province
        )
    ).json()
    assert reads == ["once"]  # one read for the five decisions
    assert [(r["id"], r["seq"]) for r in rows] == [(a, n) for n, a in enumerate(asked, 1)]
    assert [(r["status"], r["reason_code"]) for r in rows] == [
        ("confirmed", None),
        ("confirmed", None),
        ("rejected", "already_registered"),
        ("waitlisted", None),
        ("waitlisted", None),
    ]
    # A later batch starts from what the database holds.
    fifth = (await _suppliers(yibin, 5))[-1]
    late = await _register(yibin, activity["id"], fifth)
    assert (late["status"], late["seq"], reads) == ("waitlisted", 6, ["once", "once"])
