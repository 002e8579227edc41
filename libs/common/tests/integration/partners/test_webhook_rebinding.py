"""DNS rebinding: under production rules the dispatcher resolves an endpoint's host once per batch
and sends to that checked address; a resolver that later answers loopback gets no request through,
and the deliveries are logged as refused."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from shulian_common.settings import Environment, PartnerGrant, Settings
from shulian_common.testing.node import ServiceNode
from shulian_common.webhooks import targets
from shulian_common.webhooks.dispatcher import WebhookDispatcher, webhook_client

from .conftest import partner, write_notes

PUBLIC, LOOPBACK = "93.184.216.34", "127.0.0.1"
HOOK = "https://partner.example.cn/hooks"


async def test_deliveries_go_to_the_checked_address_and_a_rebound_name_is_refused(
    node: ServiceNode[Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {"address": PUBLIC}
    asked: list[str] = []

    async def resolve(host: str, _port: int) -> list[targets.IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address(answers["address"])]

    monkeypatch.setattr(targets, "resolve", resolve)
    sent: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    created = await node.client.post("/v1/subscriptions", json={"url": HOOK}, headers=partner(node))
    assert created.status_code == 201, created.text
    await write_notes(node, 3, per_commit=3)
    await node.drain()  # published; the node's own dispatcher is stopped from here on
    # Production rules; the partner is granted everything (without a grant it gets nothing).
    grants = {"partner:county-platform": PartnerGrant()}
    production = node.settings.model_copy(
        update={"env": Environment.PRODUCTION, "partner_grants": grants}
    )
    dispatcher = WebhookDispatcher(
        engine=node.runtime.engine,
        settings=production,
        client=webhook_client(production, lambda: httpx.MockTransport(endpoint)),
    )
    try:
        await dispatcher.drain()
        answers["address"] = LOOPBACK  # the name now points inside (rebinding)
        await write_notes(node, 1)
        await node.drain()
        await dispatcher.drain()
    finally:
        await dispatcher.close()
    log = await node.client.get(
        f"/v1/subscriptions/{created.json()['id']}/deliveries",
        params={"status": "pending"},
        headers=partner(node),
    )

    assert len(sent) == 3
    assert {(r.url.host, r.headers["host"], r.extensions["sni_hostname"]) for r in sent} == {
        (PUBLIC, "partner.example.cn", "partner.example.cn")
    }
    assert asked == ["partner.example.cn"] * 2  # once a batch, never again per request
    [refused] = log.json()["items"]  # owed still, retried later with a fresh resolution
    assert (refused["attempts"], refused["last_status_code"]) == (1, None)
    assert refused["last_error"].startswith("refused: ")
    assert "loopback" in refused["last_error"]
