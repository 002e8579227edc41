"""The calendar serves partners: its migrations create the partner tables as declared, a webhook
subscription gets a signed delivery of a scheduled activity, and the feed serves it; a partner's
grant (divisions, industries) limits both."""

from __future__ import annotations

from pathlib import Path

from partner.receiver import Receiver, serving

from shulian_common.auth import Role
from shulian_common.testing.node import node_settings
from shulian_common.testing.partners import (
    PARTNER,
    assert_partner_tables,
    deliver,
    partner_headers,
    read_whole_feed,
    subscribe,
)
from shulian_events.orm import MIGRATIONS
from shulian_events.settings import EventsSettings
from shulian_events.testing import activity_body, events_settings_for, running

YIBIN = "511500"
SCHEDULED = "cn.sichuan.shulian.events.activity.scheduled.v1"


async def test_the_migrations_create_the_partner_tables_without_drift(database_url: str) -> None:
    await assert_partner_tables(database_url, MIGRATIONS)


async def test_a_partner_gets_a_signed_delivery_and_reads_the_feed(
    database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver(secrets=[])
    elsewhere = Receiver(secrets=[])
    async with running(events_settings_for(database_url, tmp_path, YIBIN)) as node:
        async with serving(receiver) as url, serving(elsewhere) as other_url:
            sub = await subscribe(node, url, types=[SCHEDULED], cities=[YIBIN])
            await subscribe(node, other_url, cities=["510100"])  # Chengdu: not this activity
            receiver.secrets = [sub["secret"]]
            created = await node.client.post(
                "/v1/activities",
                json=activity_body(YIBIN),
                headers=node.auth(Role.CITY_OPERATOR, YIBIN),
            )
            assert created.status_code == 201, created.text
            await deliver(node)
        feed = await read_whole_feed(node, types=SCHEDULED, city=YIBIN)

    [payload] = receiver.events.values()
    assert receiver.rejected == 0
    assert payload["type"] == SCHEDULED
    assert payload["data"]["id"] == created.json()["id"]
    assert elsewhere.arrivals == {}
    assert [event["id"] for event in feed] == [payload["id"]]


async def test_a_partner_receives_and_reads_only_what_it_was_granted(
    database_url: str, tmp_path: Path
) -> None:
    grants = {PARTNER: {"cities": [YIBIN], "industries": ["power_batteries"]}}
    settings = node_settings(
        EventsSettings,
        database_url=database_url,
        tmp_path=tmp_path,
        node=YIBIN,
        partner_grants=grants,
    )
    receiver = Receiver(secrets=[])
    async with running(settings) as node:
        async with serving(receiver) as url:
            receiver.secrets = [(await subscribe(node, url))["secret"]]  # no filters: the grant's
            operator = node.auth(Role.CITY_OPERATOR, YIBIN)
            batteries = await node.client.post(
                "/v1/activities", json=activity_body(YIBIN), headers=operator
            )
            solar = await node.client.post(
                "/v1/activities",
                json=activity_body(YIBIN, industries=["crystalline_pv"]),
                headers=operator,
            )
            assert (batteries.status_code, solar.status_code) == (201, 201), solar.text
            await deliver(node)
        feed = await read_whole_feed(node)
        solar_event = next(e for e in await node.events() if e["data"]["id"] == solar.json()["id"])
        beyond = await node.client.get(
            "/v1/feed", params={"city": "510100"}, headers=partner_headers(node)
        )

    assert {p["data"]["id"] for p in receiver.events.values()} == {batteries.json()["id"]}
    assert {e["data"]["id"] for e in feed} == {batteries.json()["id"]}
    assert solar_event  # it was published, only not granted
    assert (beyond.status_code, beyond.json()["code"]) == (403, "not_granted")
