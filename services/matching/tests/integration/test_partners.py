"""Matching serves partners: its migrations create the partner tables, a webhook subscription
gets signed deliveries of its events, the feed serves them, and neither carries a talent's
personal data (name, phone, ID number), whether the payload is full or thin."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from partner.receiver import Receiver, serving

from shulian_common.testing.partners import (
    assert_no_personal_data,
    assert_partner_tables,
    deliver,
    partner_headers,
    read_whole_feed,
    subscribe,
)
from shulian_matching.orm import MIGRATIONS
from shulian_matching.testing import YIBIN, job_order, matching_settings_for, place, running

PHONE, ID_NUMBER, NAME = "13955558888", "511502198806060019", "合作方隐私测试人"
PERSONAL = (PHONE, ID_NUMBER, NAME)
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
        fetched = [
            (await node.client.get(urlsplit(p["dataref"]).path, headers=partner_headers(node)))
            for p in thin.events.values()
        ]

    types = {event["type"].removeprefix(PREFIX) for event in feed}
    assert {"talent.saved.v1", "order.placed.v1", "application.submitted.v1"} <= types
    assert sorted(p["id"] for p in full.events.values()) == sorted(e["id"] for e in feed)
    assert sorted(p["id"] for p in thin.events.values()) == sorted(e["id"] for e in feed)
    assert full.rejected == thin.rejected == 0
    assert {r.status_code for r in fetched} == {200}
    assert all("data" not in p for p in thin.events.values())
    assert_no_personal_data(
        [*feed, *full.events.values(), *thin.events.values(), *(r.json() for r in fetched)],
        PERSONAL,
    )
