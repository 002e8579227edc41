"""A talent the placer declined may apply to the same job order again only once its terms changed
(``domain.talents``): refused with ``application_declined`` before, nothing written; a new
application beside the declined one after; one standing application per talent and order, kept
by the database too. On SQLite and PostgreSQL, over the local log (what is proved here is the
nodes' bookkeeping, not the transport: the cross-node applications module runs over Kafka too)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from shulian_matching.orm import Application
from shulian_matching.testing import (
    CHENGDU,
    YIBIN,
    Matching,
    NodeStarter,
    job_order,
    operator,
    place,
)


def talent(node: Matching, account: str) -> dict[str, str]:
    return node.auth("talent", sub=account)


async def _profile(node: Matching, account: str, county: str) -> dict[str, Any]:
    body = {
        "name": "赵小燕",
        "phone": "13800001111",
        "id_number": f"{county}199001011230",  # valid check digit for both counties used
        "occupation_code": "6",
        "skills": ["电工"],
        "county_code": county,
    }
    response = await node.client.put("/v1/talents/me", json=body, headers=talent(node, account))
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def _apply(node: Matching, order_id: str, account: str) -> Any:
    return await node.client.post(
        f"/v1/orders/{order_id}/applications", headers=talent(node, account)
    )


async def _edit(node: Matching, order_id: str, city: str, **changes: Any) -> dict[str, Any]:
    url = f"/v1/orders/{order_id}"
    etag = (await node.client.get(url, headers=node.province)).headers["ETag"]
    response = await node.client.patch(
        url, json=changes, headers={**operator(node, city), "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    edited: dict[str, Any] = response.json()
    return edited


async def _decide(node: Matching, order_id: str, application_id: str, *, accept: bool) -> None:
    response = await node.client.post(
        f"/v1/orders/{order_id}/applications/{application_id}/decision",
        json={"accept": accept},
        headers=operator(node, YIBIN),
    )
    assert response.status_code == 200, response.text


async def _listed(node: Matching, order_id: str) -> list[tuple[str, str, int]]:
    response = await node.client.get(
        f"/v1/orders/{order_id}/applications", headers=operator(node, YIBIN)
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return sorted((i["talent_id"], i["status"], i["terms_version"]) for i in items)


async def test_a_declined_talent_applies_again_only_on_changed_terms(yibin: Matching) -> None:
    me = await _profile(yibin, "a", "511502")
    order = await place(yibin, job_order(head_count=2), YIBIN)
    first = await _apply(yibin, order["id"], "a")
    assert (first.status_code, first.json()["terms_version"]) == (201, 1)
    await _decide(yibin, order["id"], first.json()["id"], accept=False)

    again = await _apply(yibin, order["id"], "a")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "application_declined"
    assert (again.json()["declined_terms_version"], again.json()["terms_version"]) == (1, 1)
    # A title is not a term: the placer's answer still stands.
    assert (await _edit(yibin, order["id"], YIBIN, title="电池产线操作工（夜班）"))[
        "terms_version"
    ] == 1
    assert (await _apply(yibin, order["id"], "a")).json()["code"] == "application_declined"
    assert await yibin.count("applications") == 1
    assert len(await yibin.events("application.submitted")) == 1

    assert (await _edit(yibin, order["id"], YIBIN, monthly_pay_yuan=7200))["terms_version"] == 2
    second = await _apply(yibin, order["id"], "a")
    assert second.status_code == 201, second.text
    assert (second.json()["status"], second.json()["terms_version"]) == ("applied", 2)
    assert second.json()["id"] != first.json()["id"]
    twice = await _apply(yibin, order["id"], "a")
    assert twice.json()["code"] == "duplicate_application"
    assert await _listed(yibin, order["id"]) == [
        (me["id"], "applied", 2),
        (me["id"], "declined", 1),
    ]
    submitted = await yibin.events("application.submitted")
    assert [(e["data"]["id"], e["data"]["terms_version"]) for e in submitted] == [
        (first.json()["id"], 1),
        (second.json()["id"], 2),
    ]

    # Declined again, on the new terms: refused again until they change once more.
    await _decide(yibin, order["id"], second.json()["id"], accept=False)
    refused = await _apply(yibin, order["id"], "a")
    assert (refused.json()["code"], refused.json()["declined_terms_version"]) == (
        "application_declined",
        2,
    )
    assert await yibin.count("applications") == 2


async def test_concurrent_applications_after_a_change_make_one(yibin: Matching) -> None:
    await _profile(yibin, "a", "511502")
    order = await place(yibin, job_order(head_count=2), YIBIN)
    first = await _apply(yibin, order["id"], "a")
    await _decide(yibin, order["id"], first.json()["id"], accept=False)
    await _edit(yibin, order["id"], YIBIN, skills=["电工", "叉车"])

    answers = await asyncio.gather(*(_apply(yibin, order["id"], "a") for _ in range(6)))

    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"duplicate_application"}
    assert await yibin.count("applications") == 2


async def test_the_database_keeps_one_standing_application_per_talent(yibin: Matching) -> None:
    order = await place(yibin, job_order(), YIBIN)

    def row(application_id: str, status: str) -> Application:
        now = datetime.now(UTC)
        return Application(
            id=application_id,
            owner_node=YIBIN,
            order_id=order["id"],
            talent_id="t1",
            talent_node=YIBIN,
            status=status,
            terms_version=1,
            created_at=now,
            updated_at=now,
        )

    async with yibin.runtime.session_factory() as session:
        session.add_all([row("d1", "declined"), row("d2", "declined"), row("r1", "rejected")])
        session.add(row("a1", "applied"))
        await session.commit()
    for status in ("pending", "applied", "accepted"):
        async with yibin.runtime.session_factory() as session:
            session.add(row(f"x-{status}", status))
            with pytest.raises(IntegrityError):
                await session.commit()
    assert await yibin.count("applications") == 4


async def test_another_nodes_talent_hears_the_terms_it_was_declined_on(
    start_node: NodeStarter,
) -> None:
    async with start_node(YIBIN) as yibin, start_node(CHENGDU) as chengdu:
        me = await _profile(chengdu, "a", "510104")
        order = await place(yibin, job_order(visibility="province", head_count=2), YIBIN)
        await yibin.drain(chengdu)
        # Yibin changes the pay; Chengdu's replica still has the first terms when the talent
        # applies, so the placer answers on terms the talent's copy does not name.
        await _edit(yibin, order["id"], YIBIN, monthly_pay_yuan=7000)
        sent = await _apply(chengdu, order["id"], "a")
        assert (sent.status_code, sent.json()["status"]) == (202, "pending")
        copy = await chengdu.client.get(
            f"/v1/applications/{sent.json()['id']}", headers=talent(chengdu, "a")
        )
        assert copy.json()["terms_version"] == 1
        await yibin.drain(chengdu)
        assert await _listed(yibin, order["id"]) == [(me["id"], "applied", 2)]
        await _decide(yibin, order["id"], sent.json()["id"], accept=False)
        await yibin.drain(chengdu)

        followed = await chengdu.client.get(
            f"/v1/applications/{sent.json()['id']}", headers=talent(chengdu, "a")
        )
        assert (followed.json()["status"], followed.json()["terms_version"]) == ("declined", 2)
        refused = await _apply(chengdu, order["id"], "a")
        assert refused.status_code == 409
        assert refused.json()["code"] == "application_declined"
        assert len(await chengdu.events("application.requested")) == 1

        await _edit(yibin, order["id"], YIBIN, head_count=3)
        await yibin.drain(chengdu)
        again = await _apply(chengdu, order["id"], "a")
        assert again.status_code == 202, again.text
        await yibin.drain(chengdu)
        assert await _listed(yibin, order["id"]) == [
            (me["id"], "applied", 3),
            (me["id"], "declined", 2),
        ]
        assert [r["data"]["outcome"] for r in await yibin.events("application.received")] == [
            "accepted",
            "accepted",
        ]
