"""Partner webhook deliveries/s to 10 endpoints on loopback, one of them slow.

The kit's example service runs in-process (SQLite, or PostgreSQL when ``SHULIAN_TEST_DATABASE_URL``
names a server) with its dispatcher; 10 example receivers (uvicorn, verifying every signature with
the ``standardwebhooks`` package) each subscribe to everything; one answers only after ``--slow``
seconds. N events are written at once; the figures are the deliveries/s the 9 fast endpoints got
together, the time the last fast endpoint finished, and how far the slow one was by then. The raw
baseline, measured in the same run on the same receivers: as many signed POSTs sent straight from
one httpx client, 4 in flight per endpoint (the dispatcher's own limit), no database; the ratio is
what the durable delivery table, claims and the attempt log cost.

    uv run python bench/partners_webhooks.py [--events 500] [--slow 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(ROOT / "libs/common/tests"),
    str(ROOT / "examples"),
    str(ROOT / "libs/common/tests/integration/partners"),
]

from _db import postgres_database  # noqa: E402
from kit_example.contracts import SERVICE  # noqa: E402
from kit_example.main import create_app  # noqa: E402
from partner.receiver import Receiver, bound_port, serve, stop  # noqa: E402

from conftest import write_notes  # noqa: E402
from shulian_common.auth import Role  # noqa: E402
from shulian_common.settings import Settings  # noqa: E402
from shulian_common.testing.node import node_settings, run_node  # noqa: E402
from shulian_common.testing.reliability import wait_until  # noqa: E402
from shulian_common.webhooks.signing import signature_headers  # noqa: E402

ENDPOINTS = 10
IN_FLIGHT = 4  # per endpoint, as the dispatcher's webhook_endpoint_concurrency


class SlowReceiver(Receiver):
    """A receiver that takes ``delay`` seconds to answer."""

    delay: float = 0.5

    async def handle(self, request):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.delay)
        return await super().handle(request)


async def run(database_url: str, label: str, events: int, slow: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = node_settings(
            Settings,
            database_url=database_url,
            tmp_path=Path(tmp),
            node="510100",
            service=SERVICE,
            webhook_poll_interval_s=0.05,
            log_level="WARNING",
        )
        async with run_node(create_app, settings) as node:
            receivers: list[Receiver] = [Receiver(secrets=[]) for _ in range(ENDPOINTS - 1)]
            slow_one = SlowReceiver(secrets=[])
            slow_one.delay = slow
            receivers.append(slow_one)
            servers = [await serve(r.app()) for r in receivers]
            try:
                headers = node.auth(Role.PARTNER, sub="partner:bench")
                for receiver, server in zip(receivers, servers, strict=True):
                    url = f"http://127.0.0.1:{bound_port(server)}/webhooks"
                    created = await node.client.post(
                        "/v1/subscriptions", json={"url": url}, headers=headers
                    )
                    receiver.secrets = [created.json()["secret"]]
                started = time.perf_counter()
                await write_notes(node, events, per_commit=100)
                fast = receivers[:-1]
                await wait_until(
                    lambda: all(len(r.events) >= events for r in fast), timeout=600, interval=0.01
                )
                took = time.perf_counter() - started
                rejected = sum(r.rejected for r in receivers)
                urls = [f"http://127.0.0.1:{bound_port(server)}/webhooks" for server in servers]
                raw = await raw_baseline(fast, urls[:-1], events)
            finally:
                for server in servers:
                    await stop(server)
    delivered = events * len(fast)
    print(
        f"{label:<10} {events} events x {len(fast)} fast endpoints: {delivered / took:>7,.0f} "
        f"deliveries/s (all fast done in {took:.1f} s); slow endpoint ({slow} s/answer) had "
        f"{len(slow_one.events)}/{events}; bad signatures {rejected}"
    )
    print(
        f"{'':<10} raw baseline (signed POSTs straight to the same fast endpoints, {IN_FLIGHT} in "
        f"flight each): {raw:>7,.0f} deliveries/s; dispatcher/raw = {delivered / took / raw:.2f}"
    )


async def raw_baseline(receivers: list[Receiver], urls: list[str], events: int) -> float:
    """Deliveries/s of ``events`` signed POSTs to each endpoint, sent straight from one client."""
    body = b'{"specversion":"1.0","id":"raw","type":"bench","source":"/bench","data":{}}'
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=None)) as client:

        async def endpoint(receiver: Receiver, url: str) -> None:
            limit = asyncio.Semaphore(IN_FLIGHT)

            async def one(n: int) -> None:
                async with limit:
                    headers = signature_headers(
                        receiver.secrets,
                        msg_id=f"raw_{n}_{uuid.uuid4().hex}",
                        timestamp=int(time.time()),
                        body=body,
                    )
                    response = await client.post(
                        url, content=body, headers={**headers, "content-type": "application/json"}
                    )
                    response.raise_for_status()

            await asyncio.gather(*(one(n) for n in range(events)))

        started = time.perf_counter()
        await asyncio.gather(*(endpoint(r, u) for r, u in zip(receivers, urls, strict=True)))
        took = time.perf_counter() - started
    return events * len(receivers) / took


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--slow", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{tmp}/hooks.db", "sqlite", args.events, args.slow)
    server = os.environ.get("SHULIAN_TEST_DATABASE_URL")
    if server:
        url = await postgres_database(server)
        if url:
            await run(url, "postgresql", args.events, args.slow)


if __name__ == "__main__":
    asyncio.run(main())
