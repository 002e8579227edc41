"""Consumer throughput by batch size: inbox + no-op handler, from the local log, per database.

    uv run python bench/consumer_batching.py [--events 2000] [--batch-sizes 1 100]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB]

Publishes ``--events`` events over 50 keys to a fresh local log, then times one runner draining
them (inbox insert, handler, commit), once per batch size. Without ``--database-url`` each run
gets a fresh SQLite file; a PostgreSQL database given is migrated and shared (each run has its
own consumer name, so its own inbox rows).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from shulian_common.bus.base import OutgoingMessage
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.consumer import ConsumerRunner, Subscription
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory

MIGRATIONS = Path(__file__).parents[1] / "libs/common/tests/integration/migrations"
TOPIC = "shulian.bench.steps.v1"
TYPE = "cn.sichuan.shulian.bench.step.recorded.v1"


class StepRecorded(EventModel):
    """Step ``n`` happened."""

    n: int


async def ignore(uow: UnitOfWork, event: CloudEvent, data: BaseModel) -> None:
    """A handler that writes nothing: what is timed is the runner, the inbox and the commit."""


async def events_per_second(*, batch_size: int, events: int, database_url: str | None) -> float:
    """Drain ``events`` events with one runner of ``batch_size``; return events per second."""
    tmp = Path(tempfile.mkdtemp(prefix="shulian-bench-"))
    engine = create_engine(database_url or f"sqlite+aiosqlite:///{tmp}/consumer.db")
    await migrate(engine, MIGRATIONS)
    catalogue = Catalogue()
    catalogue.register(StepRecorded, type=TYPE, topic=TOPIC)
    bus = LocalBus(tmp / "bus.db")
    source = "/nodes/510100/bench"
    sent = [
        CloudEvent(source=source, type=TYPE, partitionkey=f"k{i % 50}", data={"n": i})
        for i in range(events)
    ]
    async with bus.publisher() as publisher:
        await publisher.publish(
            [OutgoingMessage(TOPIC, e.partitionkey, e.to_value(), e.to_headers()) for e in sent]
        )
        runner = ConsumerRunner(
            name=f"bench-{batch_size}-{tmp.name}",
            bus=bus,
            uow_factory=UnitOfWorkFactory(
                create_session_factory(engine), source="/nodes/510000/c", catalogue=catalogue
            ),
            subscriptions=[Subscription(TOPIC, {TYPE: ignore})],
            publisher=publisher,
            catalogue=catalogue,
            batch_size=batch_size,
        )
        async with runner:
            started = time.perf_counter()
            await runner.drain(until=lambda: runner.processed >= events, timeout=600)
            elapsed = time.perf_counter() - started
    await engine.dispose()
    return events / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    for size in args.batch_sizes:
        rate = await events_per_second(
            batch_size=size, events=args.events, database_url=args.database_url
        )
        print(f"batch_size={size:>4}: {rate:8.0f} events/s")


if __name__ == "__main__":
    asyncio.run(main())
