"""Reporting serves partners: its migrations create the partner tables as declared, a webhook
subscription gets a signed delivery of a submitted summary, and the feed serves it."""

from __future__ import annotations

from pathlib import Path

from partner.receiver import Receiver, serving

from shulian_common.testing.partners import (
    assert_partner_tables,
    deliver,
    read_whole_feed,
    subscribe,
)
from shulian_reporting.orm import MIGRATIONS
from shulian_reporting.testing import reporting_settings_for, running
from shulian_reporting.testing.worked import CHENGDU

SUBMITTED = "cn.sichuan.shulian.reporting.summary.submitted.v1"
BASE = f"/v1/summaries/2024/{CHENGDU}"


async def test_the_migrations_create_the_partner_tables_without_drift(database_url: str) -> None:
    await assert_partner_tables(database_url, MIGRATIONS)


async def test_a_partner_gets_a_signed_delivery_and_reads_the_feed(
    database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver(secrets=[])
    async with running(reporting_settings_for(database_url, tmp_path)) as node:
        async with serving(receiver) as url:
            sub = await subscribe(node, url, types=[SUBMITTED], cities=[CHENGDU])
            receiver.secrets = [sub["secret"]]
            city = node.auth("city_operator", CHENGDU)
            draft = await node.client.put(
                BASE, json={"sections": {"主要成效": "新增2户。"}}, headers=city
            )
            submitted = await node.client.post(
                f"{BASE}/submit", headers={**city, "If-Match": draft.headers["ETag"]}
            )
            assert submitted.status_code == 200, submitted.text
            await deliver(node)
        feed = await read_whole_feed(node, types=SUBMITTED)

    [payload] = receiver.events.values()
    assert receiver.rejected == 0
    assert payload["type"] == SUBMITTED
    assert [event["id"] for event in feed] == [payload["id"]]
