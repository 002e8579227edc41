"""Registry serves partners: its migrations create the kit's partner tables as declared, a webhook
subscription filtered by industry gets a signed delivery of a registered supplier, and the feed
serves it."""

from __future__ import annotations

from pathlib import Path

from partner.receiver import Receiver, serving

from shulian_common.testing.partners import (
    assert_partner_tables,
    deliver,
    read_whole_feed,
    subscribe,
)
from shulian_registry.orm import MIGRATIONS
from shulian_registry.testing import register, registry_settings_for, running, supplier_body

PROVINCE = "510000"
REGISTERED = "cn.sichuan.shulian.registry.supplier.registered.v1"


async def test_the_migrations_create_the_partner_tables_without_drift(database_url: str) -> None:
    await assert_partner_tables(database_url, MIGRATIONS)


async def test_a_partner_gets_a_signed_delivery_and_reads_the_feed(
    database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver(secrets=[])
    async with running(registry_settings_for(database_url, tmp_path, PROVINCE)) as node:
        async with serving(receiver) as url:
            sub = await subscribe(node, url, industries=["power_batteries"])
            receiver.secrets = [sub["secret"]]
            batteries = await register(node, supplier_body(industries=["power_batteries"]))
            await register(node, supplier_body(industries=["crystalline_pv"]))
            await deliver(node)
        feed = await read_whole_feed(node, types=REGISTERED)

    [payload] = receiver.events.values()
    assert receiver.rejected == 0
    assert payload["data"]["id"] == batteries["id"]
    assert len(feed) == 2
    assert payload["id"] in {event["id"] for event in feed}
