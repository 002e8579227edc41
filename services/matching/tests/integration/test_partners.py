"""Matching serves partners: its migrations create the partner tables, a webhook subscription
gets signed deliveries of its events, the feed serves them, and neither carries a talent's
personal data (name, phone, ID number), whether the payload is full or thin. Applications and grabs
travel on command topics, which partners read neither on Kafka nor here."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from partner.follower import tail as sse_tail
from partner.receiver import Receiver, bound_port, serve, serving, stop

from shulian_common.reference import mask_name, mask_phone, mask_resident_id
from shulian_common.testing.partners import (
    assert_no_personal_data,
    assert_partner_tables,
    deliver,
    partner_headers,
    read_whole_feed,
    subscribe,
)
from shulian_matching.orm import MIGRATIONS
from shulian_matching.testing import (
    YIBIN,
    Matching,
    job_order,
    matching_settings_for,
    place,
    running,
)

PHONE, ID_NUMBER, NAME = "13955558888", "511502198806060019", "合作方隐私测试人"
# Masked forms count too: a partner gets no part of them.
PERSONAL = (
    PHONE,
    ID_NUMBER,
    NAME,
    mask_phone(PHONE),
    mask_resident_id(ID_NUMBER),
    mask_name(NAME),
)
PREFIX = "cn.sichuan.shulian.matching."


async def test_the_migrations_create_the_partner_tables_without_drift(database_url: str) -> None:
    await assert_partner_tables(database_url, MIGRATIONS)


async def test_partners_get_deliveries_and_the_feed_without_talents_personal_data(
    database_url: str, tmp_path: Path
) -> None:
    full, thin = Receiver(secrets=[]), Receiver(secrets=[])
    async with running(matching_settings_for(database_url, tmp_path, YIBIN)) as node:
        async with serving(full) as full_url, serving(thin) as thin_url:
            full.secrets = [(await subscribe(node, full_url))["secret"]]
            thin.secrets = [(await subscribe(node, thin_url, payload="thin"))["secret"]]
            me = node.auth("talent", sub="partner-privacy-talent")
            talent = await node.client.put(
                "/v1/talents/me",
                json={
                    "name": NAME,
                    "phone": PHONE,
                    "id_number": ID_NUMBER,
                    "occupation_code": "6",
                    "skills": ["电工"],
                    "county_code": "511502",
                },
                headers=me,
            )
            assert talent.status_code == 201, talent.text
            order = await place(node, job_order(), YIBIN)
            applied = await node.client.post(f"/v1/orders/{order['id']}/applications", headers=me)
            assert applied.status_code == 201, applied.text
            await deliver(node)
        feed = await read_whole_feed(node)
        operator = await node.client.get(
            "/v1/feed", params={"limit": 1000}, headers=node.auth("city_operator", YIBIN)
        )
        tail = await _tail(node, len(feed))
        fetched = [
            (await node.client.get(urlsplit(p["dataref"]).path, headers=partner_headers(node)))
            for p in thin.events.values()
        ]

    types = {event["type"].removeprefix(PREFIX) for event in feed}
    assert {"talent.saved.v1", "order.placed.v1"} <= types
    assert "application.submitted.v1" not in types  # on the applications command topic
    # An operator reads the whole feed, the application included.
    assert "application.submitted.v1" in {
        event["type"].removeprefix(PREFIX) for event in operator.json()
    }
    assert sorted(p["id"] for p in full.events.values()) == sorted(e["id"] for e in feed)
    assert sorted(p["id"] for p in thin.events.values()) == sorted(e["id"] for e in feed)
    assert [event["id"] for event in tail] == [event["id"] for event in feed]
    assert full.rejected == thin.rejected == 0
    assert {r.status_code for r in fetched} == {200}
    assert all("data" not in p for p in thin.events.values())
    assert_no_personal_data(
        [
            *feed,
            *tail,
            *full.events.values(),
            *thin.events.values(),
            *(r.json() for r in fetched),
        ],
        PERSONAL,
    )


async def _tail(node: Matching, count: int) -> list[dict[str, Any]]:
    """The first ``count`` events of the SSE live tail, read over a real HTTP server."""
    server = await serve(node.app)
    token = partner_headers(node)["Authorization"].removeprefix("Bearer ")
    taken: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound_port(server)}") as client:

            async def take() -> None:
                async for _sse_id, event in sse_tail(client, token):
                    taken.append(event)
                    if len(taken) == count:
                        return

            await asyncio.wait_for(take(), timeout=20)
    finally:
        await stop(server)
    return taken
