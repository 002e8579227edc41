"""Test helpers of matching: the generic test node bound to it, registry-shaped supplier events
for its replica, and valid order bodies.

Everything that is not about matching (client, tokens, drain) is ``shulian_common.testing.node``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from shulian_common.app import runtime_of
from shulian_common.bus.base import OutgoingMessage
from shulian_common.envelope import CloudEvent
from shulian_common.reference import city_of
from shulian_common.testing.node import ServiceNode, node_settings, run_node
from shulian_matching.main import create_app
from shulian_matching.settings import MatchingSettings

PREFIX = "cn.sichuan.shulian.matching."
YIBIN, CHENGDU, LESHAN = "511500", "510100", "511100"
SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"

Matching = ServiceNode[MatchingSettings]
# Starts matching as the node named by a GB/T 2260 code, on a database of its own.
NodeStarter = Callable[..., AbstractAsyncContextManager[Matching]]


def matching_settings_for(
    database_url: str, tmp_path: Path, node: str, **overrides: Any
) -> MatchingSettings:
    """Settings of a test node: its database, the local bus of ``tmp_path``, no telemetry."""
    return node_settings(
        MatchingSettings, database_url=database_url, tmp_path=tmp_path, node=node, **overrides
    )


def running(settings: MatchingSettings) -> AbstractAsyncContextManager[Matching]:
    """Matching with its lifespan started (migrations, relay, consumers) and a client."""
    return run_node(create_app, settings)


def supplier_event(
    supplier_id: str | None = None,
    *,
    county: str = "511502",
    service_lines: tuple[str, ...] = ("recruitment",),
    industries: tuple[str, ...] = (),
    listing_status: str = "listed",
    version: int = 1,
    name: str | None = None,
) -> CloudEvent:
    """A registry ``supplier.listing_changed``-shaped snapshot, from the node owning the county
    (the province node publishes for counties no city node runs for in a test)."""
    supplier_id = supplier_id or uuid.uuid4().hex
    city = city_of(county).code
    now = datetime.now(UTC).isoformat()
    data = {
        "id": supplier_id,
        "owner_node": city,
        "version": version,
        "created_at": now,
        "updated_at": now,
        "name": name or f"测试{city}人力资源有限公司{supplier_id[:4]}",
        "county_code": county,
        "city_code": city,
        "service_lines": list(service_lines),
        "industries": list(industries),
        "high_end": False,
        "listing_status": listing_status,
    }
    return CloudEvent(
        source=f"/nodes/{city}/registry",
        type="cn.sichuan.shulian.registry.supplier.updated.v1",
        partitionkey=supplier_id,
        data=data,
    )


async def publish(node: Matching, *events: CloudEvent) -> None:
    """Put registry events on the node's bus (drain the nodes afterwards to apply them)."""
    messages = [
        OutgoingMessage(
            topic=SUPPLIERS_TOPIC, key=e.partitionkey, value=e.to_value(), headers=e.to_headers()
        )
        for e in events
    ]
    await runtime_of(node.app).publisher.publish(messages)


def service_order(county: str = "511502", **extra: Any) -> dict[str, Any]:
    """A valid service-order body."""
    return {
        "kind": "service",
        "title": "动力电池产线招聘服务",
        "county_code": county,
        "service_line": "recruitment",
        "head_count": 20,
        "slots": 1,
        "budget_yuan": 200_000,
        "deadline": (date.today() + timedelta(days=30)).isoformat(),
        "visibility": "province",
        **extra,
    }


def job_order(county: str = "511502", **extra: Any) -> dict[str, Any]:
    """A valid job-order body."""
    return {
        "kind": "job",
        "title": "电池产线操作工",
        "county_code": county,
        "occupation_code": "6",
        "skills": ["电工", "质检"],
        "head_count": 1,
        "monthly_pay_yuan": 6500,
        "deadline": (date.today() + timedelta(days=30)).isoformat(),
        **extra,
    }


def operator(node: Matching, city: str) -> dict[str, str]:
    """Bearer header of a city operator of ``city``."""
    return node.auth("city_operator", city)


def supplier(node: Matching, supplier_id: str) -> dict[str, str]:
    """Bearer header of a supplier."""
    return node.auth("supplier", supplier_id=supplier_id, sub=f"supplier-{supplier_id}")


async def place(node: Matching, body: dict[str, Any], city: str) -> dict[str, Any]:
    """Place an order as an operator of ``city``; fails loudly."""
    response = await node.client.post("/v1/orders", json=body, headers=operator(node, city))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def cancel(node: Matching, order_id: str, city: str) -> None:
    """Cancel an order as an operator of ``city`` (with its current ETag); fails loudly."""
    etag = (await node.client.get(f"/v1/orders/{order_id}", headers=node.province)).headers["ETag"]
    response = await node.client.post(
        f"/v1/orders/{order_id}/cancel", headers={**operator(node, city), "If-Match": etag}
    )
    assert response.status_code == 200, response.text


async def grab_as(node: Matching, order_id: str, supplier_id: str) -> str:
    """Grab an order on ``node`` as the supplier; the grab's id (fails loudly)."""
    response = await node.client.post(
        f"/v1/orders/{order_id}/grabs", headers=supplier(node, supplier_id)
    )
    assert response.status_code == 202, response.text
    grab_id: str = response.json()["id"]
    return grab_id


async def grab_status(node: Matching, grab_id: str) -> tuple[str, Any]:
    """(status, reason) of a grab as ``node`` shows it."""
    body = (await node.client.get(f"/v1/grabs/{grab_id}", headers=node.province)).json()
    return body["status"], body["reason"]


STORM_COUNTY = {YIBIN: "511502", CHENGDU: "510104", LESHAN: "511102"}


async def grab_storm(
    nodes: dict[str, Matching], order_id: str, grabs: int, *, drain_within: float = 120
) -> list[tuple[str, str]]:
    """List ``grabs`` suppliers over the nodes' cities (round robin), let each grab the order at
    once from its own city's node; the (city, grab id) of each, after the nodes drained."""
    cities = list(nodes)
    suppliers = [(cities[i % len(cities)], uuid.uuid4().hex) for i in range(grabs)]
    events = [supplier_event(s, county=STORM_COUNTY[city]) for city, s in suppliers]
    first, *others = nodes.values()
    await publish(first, *events)
    await first.drain(*others, timeout=drain_within)

    async def grab(city: str, supplier_id: str) -> tuple[str, str]:
        node = nodes[city]
        response = await node.client.post(
            f"/v1/orders/{order_id}/grabs", headers=supplier(node, supplier_id)
        )
        assert response.status_code == 202, response.text
        return city, response.json()["id"]

    return list(await asyncio.gather(*(grab(city, s) for city, s in suppliers)))


async def outcomes(
    nodes: dict[str, Matching], grabs: list[tuple[str, str]]
) -> list[tuple[str, Any]]:
    """(status, reason) of each grab, as the node that asked for it shows it."""
    found = []
    for city, grab_id in grabs:
        node = nodes[city]
        body = (await node.client.get(f"/v1/grabs/{grab_id}", headers=node.province)).json()
        found.append((body["status"], body["reason"]))
    return found
