"""Partner changes feed throughput: events/s one reader gets through ``GET /v1/feed``.

The kit's example service runs in-process on SQLite (and on PostgreSQL when
``SHULIAN_TEST_DATABASE_URL`` names a server); N events are written and published first, then
one reader follows the feed from the start with the example follower (httpx), over ASGI and over
real HTTP (uvicorn on loopback), ``limit`` events per request. The raw baseline, in the same run:
the kit's ``read_feed`` called straight on the database with the same page size (no HTTP, no JSON
encoding); the ratios are what the routes and the transport cost.

    uv run python bench/partners_feed.py [--events 20000] [--limit 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "libs/common/tests"), str(ROOT / "examples")]

from kit_example.contracts import SERVICE  # noqa: E402
from kit_example.main import create_app  # noqa: E402
from partner.follower import FeedFollower  # noqa: E402
from partner.receiver import bound_port, serve, stop  # noqa: E402

from shulian_common.auth import Role  # noqa: E402
from shulian_common.feed import read_feed  # noqa: E402
from shulian_common.settings import Settings  # noqa: E402
from shulian_common.testing.node import ServiceNode, node_settings, run_node  # noqa: E402

sys.path.insert(0, str(ROOT / "libs/common/tests/integration/partners"))
from _db import postgres_database  # noqa: E402

from conftest import write_notes  # noqa: E402


async def follow_all(client: httpx.AsyncClient, token: str, total: int, limit: int) -> float:
    """Seconds one follower takes to read ``total`` events from the start."""
    follower = FeedFollower(client, token, limit=limit, wait=0)
    seen = 0
    started = time.perf_counter()
    while seen < total:
        batch = await follower.read()
        seen += len(batch.events)
        follower.cursor = batch.cursor
    return time.perf_counter() - started


async def run(database_url: str, label: str, events: int, limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = node_settings(
            Settings, database_url=database_url, tmp_path=Path(tmp), node="510100", service=SERVICE
        )
        async with run_node(create_app, settings) as node:
            await write_notes(node, events, per_commit=500)
            await node.stop_workers()  # the example's own consumer would compete for the CPU
            await node.runtime.relay.drain(timeout=600)
            token = _token(node)
            raw = await read_all(node, events, limit)
            asgi = await follow_all(node.client, token, events, limit)
            server = await serve(node.app)
            try:
                base = f"http://127.0.0.1:{bound_port(server)}"
                async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                    http = await follow_all(client, token, events, limit)
            finally:
                await stop(server)
    print(
        f"{label:<10} {events:>7} events, limit {limit:>5}: "
        f"raw read_feed {events / raw:>9,.0f} ev/s   ASGI {events / asgi:>9,.0f} ev/s   "
        f"HTTP {events / http:>9,.0f} ev/s   ASGI/raw {raw / asgi:.2f}   HTTP/raw {raw / http:.2f}"
    )


async def read_all(node: ServiceNode[Settings], total: int, limit: int) -> float:
    """Seconds ``read_feed`` takes to page through ``total`` events straight from the database."""
    started, after, seen = time.perf_counter(), 0, 0
    while seen < total:
        page = await read_feed(node.runtime.engine, service=SERVICE, after=after, limit=limit)
        seen += len(page.events)
        after = page.last
    return time.perf_counter() - started


def _token(node: ServiceNode[Settings]) -> str:
    header = node.auth(Role.PARTNER, sub="partner:bench")["Authorization"]
    return header.removeprefix("Bearer ")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{tmp}/feed.db", "sqlite", args.events, args.limit)
    server = os.environ.get("SHULIAN_TEST_DATABASE_URL")
    if server:
        url = await postgres_database(server)
        if url:
            await run(url, "postgresql", args.events, args.limit)


if __name__ == "__main__":
    asyncio.run(main())
