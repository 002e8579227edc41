"""The partner paths of any service in tests: subscribe a webhook endpoint, deliver, read the feed.

Each service checks with these that it serves partners (its migrations created the partner
tables, the kit mounted ``/v1/subscriptions`` and ``/v1/feed``, the dispatcher runs): the test
writes through the service's own API, then ``deliver`` relays and dispatches until nothing is due.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from shulian_common.auth import Role
from shulian_common.db import create_engine, migrate
from shulian_common.messaging import has_partner_tables, partner_tables_drift
from shulian_common.testing.node import ServiceNode

PARTNER = "partner:test-platform"


async def assert_partner_tables(database_url: str, migrations: Path) -> None:
    """Fail unless ``migrations`` create the kit's partner tables exactly as declared."""
    engine = create_engine(database_url)
    try:
        await migrate(engine, migrations)
        async with engine.connect() as connection:
            present = await connection.run_sync(has_partner_tables)
            drift = await connection.run_sync(partner_tables_drift)
    finally:
        await engine.dispose()
    assert present, "the migrations create no partner tables"
    assert drift == [], f"the partner tables differ from their declaration: {drift}"


def partner_headers(node: ServiceNode[Any], sub: str = PARTNER) -> dict[str, str]:
    """Bearer header of a partner platform."""
    return node.auth(Role.PARTNER, sub=sub)


async def subscribe(
    node: ServiceNode[Any], url: str, *, sub: str = PARTNER, **filters: Any
) -> dict[str, Any]:
    """Register a webhook endpoint for a partner; the created subscription (with its secret)."""
    response = await node.client.post(
        "/v1/subscriptions", json={"url": url, **filters}, headers=partner_headers(node, sub)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliver(node: ServiceNode[Any], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Relay everything committed, then fan out and send every due webhook delivery."""
    await node.drain(timeout=timeout)
    dispatcher = node.runtime.webhooks
    assert dispatcher is not None, "the service's migrations did not create the partner tables"
    await dispatcher.drain(timeout=timeout)


async def read_whole_feed(
    node: ServiceNode[Any], *, sub: str = PARTNER, **params: Any
) -> list[dict[str, Any]]:
    """Every event of the service's feed a partner may read, batch after batch."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 1000, **({"after": cursor} if cursor else {})}
        response = await node.client.get(
            "/v1/feed", params=query, headers=partner_headers(node, sub)
        )
        assert response.status_code == 200, response.text
        batch: list[dict[str, Any]] = response.json()
        if not batch:
            return found
        found += batch
        cursor = response.headers["Feed-Next-Cursor"]


def assert_no_personal_data(outputs: Iterable[Any], personal: Sequence[str]) -> None:
    """Fail if any of ``personal`` (a phone, an ID number, a name) appears in partner output."""
    for output in outputs:
        text = json.dumps(output, ensure_ascii=False)
        leaked = [value for value in personal if value in text]
        assert not leaked, f"personal data {leaked} in partner output: {text[:300]}"
