"""How soon a feed long poll in one process wakes after a relay in another publishes.

Two engines on one database stand for two processes. The writer's relay publishes one event per
round (``run_once``: on PostgreSQL the transaction that assigns its position sends ``NOTIFY
shulian_feed``; on SQLite the relay sends a datagram to the wake-up sockets beside the file once it
committed); the reader holds ``wait_for_feed`` with the production poll period. Measured: from the
writer's commit to the reader's answer, with the reader's relay listening (the notification wakes
it), and, as the raw baseline in the same run, without a listener (only the poll period finds the
event).

    SHULIAN_TEST_DATABASE_URL=postgresql+asyncpg://... \
        uv run python bench/partners_wake.py [--rounds 30]
    uv run python bench/partners_wake.py --sqlite [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = ROOT / "libs/common/tests/integration/migrations"

from shulian_common.bus.base import Publisher  # noqa: E402
from shulian_common.bus.local import LocalBus  # noqa: E402
from shulian_common.db import create_engine, create_session_factory, migrate  # noqa: E402
from shulian_common.envelope import CloudEvent  # noqa: E402
from shulian_common.feed import POLL_INTERVAL, FeedFilter, wait_for_feed  # noqa: E402
from shulian_common.messaging import outbox  # noqa: E402
from shulian_common.outbox import OutboxRelay  # noqa: E402
from shulian_common.testing.reliability import wait_until  # noqa: E402
from shulian_common.uow import outbox_row  # noqa: E402


def _relay(engine: AsyncEngine, publisher: Publisher, *, listen: bool) -> OutboxRelay:
    return OutboxRelay(
        engine=engine,
        session_factory=create_session_factory(engine),
        publisher=publisher,
        poll_interval=600.0,  # the reader's relay never publishes by itself here
        listen=listen,
    )


async def _rounds(
    reader: AsyncEngine, writer: AsyncEngine, publisher: Publisher, *, listen: bool, rounds: int
) -> list[float]:
    """Seconds from the writer's commit to the reader's answer, one event per round."""
    reader_relay = _relay(reader, publisher, listen=listen)
    writer_relay = _relay(writer, publisher, listen=False)
    stop = asyncio.Event()
    relaying = asyncio.create_task(reader_relay.run(stop))
    latencies: list[float] = []
    try:
        if listen:
            await wait_until(lambda: reader_relay.listening, message="the reader's listener")
        await asyncio.sleep(0.2)
        async with reader.connect() as conn:
            after = await conn.execute(text("SELECT coalesce(max(position), 0) FROM outbox"))
            position = int(after.scalar_one())
        for n in range(rounds):
            waiting = asyncio.create_task(
                wait_for_feed(
                    reader,
                    reader_relay.published_pulse,
                    service="kitexample",
                    after=position,
                    limit=10,
                    where=FeedFilter(),
                    wait=10.0,
                    poll=POLL_INTERVAL,
                )
            )
            await asyncio.sleep(0.05 + (n % 7) * 0.11)  # land anywhere in the poll period
            event = CloudEvent(
                source="/nodes/510100/bench",
                type="cn.sichuan.shulian.bench.thing.saved.v1",
                partitionkey=f"k{n}",
                data={"n": n},
            )
            async with writer.begin() as conn:
                await conn.execute(insert(outbox).values(outbox_row(event, "shulian.bench.v1")))
            await writer_relay.run_once()
            committed = time.perf_counter()
            page = await waiting
            latencies.append(time.perf_counter() - committed)
            assert [e["id"] for e in page.events] == [event.id]
            position = page.last
    finally:
        stop.set()
        await relaying
    return latencies


async def _both(url: str, rounds: int) -> tuple[list[float], list[float]]:
    reader, writer = create_engine(url), create_engine(url)
    try:
        await migrate(reader, MIGRATIONS)
        with tempfile.TemporaryDirectory() as tmp:
            bus = LocalBus(Path(tmp) / "bus.db", partitions=1)
            publisher = bus.publisher()
            await publisher.start()
            try:
                notified = await _rounds(reader, writer, publisher, listen=True, rounds=rounds)
                polled = await _rounds(reader, writer, publisher, listen=False, rounds=rounds)
            finally:
                await publisher.stop()
                await bus.close()
    finally:
        await reader.dispose()
        await writer.dispose()
    return notified, polled


def _report(notified: list[float], polled: list[float], rounds: int, how: str) -> None:
    def ms(values: list[float], q: float) -> float:
        return 1000 * statistics.quantiles(values, n=100)[int(q * 100) - 1]

    print(
        f"{rounds} rounds, reader in another process (engine), poll period {POLL_INTERVAL:.1f} s\n"
        f"  {how + ':':20} median {1000 * statistics.median(notified):7.1f} ms   "
        f"p95 {ms(notified, 0.95):7.1f} ms\n"
        f"  poll only (baseline): median {1000 * statistics.median(polled):7.1f} ms   "
        f"p95 {ms(polled, 0.95):7.1f} ms\n"
        f"  baseline/{how} (median): "
        f"{statistics.median(polled) / statistics.median(notified):.0f}x"
    )


async def run_sqlite(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        notified, polled = await _both(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", rounds)
    _report(notified, polled, rounds, "wake-up socket")


async def run(server_url: str, rounds: int) -> None:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        notified, polled = await _both(url, rounds)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    _report(notified, polled, rounds, "NOTIFY shulian_feed")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, wake-up sockets")
    args = parser.parse_args()
    if args.sqlite:
        await run_sqlite(args.rounds)
        return
    server = os.environ.get("SHULIAN_TEST_DATABASE_URL")
    if not server or not server.startswith("postgresql"):
        print("needs SHULIAN_TEST_DATABASE_URL naming a PostgreSQL server")
        return
    await run(server, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
