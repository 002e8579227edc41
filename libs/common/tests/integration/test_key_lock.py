"""Per-key order for any handler: the unit of work's advisory lock per (topic, key), on PostgreSQL.

The handlers below touch no keyed row, so only the unit of work's lock can order them. Both
directions are tested: with the lock a second transaction on a key waits for the first; with the
lock monkeypatched out the two commit in the opposite order of their ``seq`` and the relay, which
publishes in ``seq`` order, reverses them (the failure the lock prevents).

    SHULIAN_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \
        uv run pytest libs/common/tests/integration/test_key_lock.py -q
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common import uow as uow_module
from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.messaging import outbox
from shulian_common.outbox import OutboxRelay
from shulian_common.testing.reliability import read_topic, wait_until
from shulian_common.uow import UnitOfWorkFactory, key_lock_id

pytestmark = pytest.mark.postgres


class NoteRecorded(EventModel):
    """A note about an aggregate was recorded (nothing else is written)."""

    name: str


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """PostgreSQL only: SQLite has a single writer, so it needs no key lock."""
    return postgres_url


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], stream: str
) -> UnitOfWorkFactory:
    events = Catalogue()
    events.register(NoteRecorded, type="cn.sichuan.shulian.test.note.recorded.v1", topic=stream)
    return UnitOfWorkFactory(session_factory, source="/nodes/510100/test", catalogue=events)


@dataclass
class Transactions:
    """Runs units of work; the first can be held between its outbox insert and its commit."""

    uows: UnitOfWorkFactory
    inserted: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    commits: list[str] = field(default_factory=list)

    async def write(self, name: str, *, key: str = "agg", hold: bool = False) -> None:
        async with self.uows() as uow:
            uow.record(NoteRecorded(name=name), key=key)
            real_commit = uow.session.commit

            async def commit() -> None:
                if hold:  # the outbox row is inserted (seq taken), the commit not yet done
                    self.inserted.set()
                    await self.release.wait()
                await real_commit()
                self.commits.append(name)

            uow.session.commit = commit  # type: ignore[method-assign]
            await uow.commit()


async def someone_waits_for_a_key(engine: AsyncEngine) -> bool:
    """Whether a session of this test's database waits for an advisory lock."""
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one()) > 0


async def names_by_seq(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(outbox.c.data).order_by(outbox.c.seq))
        return [data["name"] for data in rows.scalars()]


async def published_names(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    stream: str,
    bus: LocalBus,
) -> list[str]:
    """Relay everything, then read the stream: the names in the order consumers see them."""
    async with bus.publisher() as publisher:
        relay = OutboxRelay(
            engine=engine, session_factory=session_factory, publisher=publisher, listen=False
        )
        await relay.drain(timeout=10)
    records = await read_topic(bus, stream, count=2)
    return [json.loads(r.value or b"{}")["name"] for r in records]


async def test_a_second_transaction_on_a_key_waits_and_commits_in_seq_order(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    local_bus: LocalBus,
    stream: str,
) -> None:
    runs = Transactions(uow_factory)
    first = asyncio.create_task(runs.write("first", hold=True))
    await asyncio.wait_for(runs.inserted.wait(), timeout=10)
    second = asyncio.create_task(runs.write("second"))

    await wait_until(
        lambda: someone_waits_for_a_key(engine), message="second waits at the key lock"
    )
    assert not second.done()
    runs.release.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=10)

    assert runs.commits == ["first", "second"]
    assert await names_by_seq(engine) == ["first", "second"]
    assert await published_names(engine, session_factory, stream, local_bus) == runs.commits


async def test_without_the_lock_commit_order_and_seq_order_disagree(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    local_bus: LocalBus,
    stream: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_lock(*_args: object) -> None:
        return None

    monkeypatch.setattr(uow_module, "lock_keys", no_lock)
    runs = Transactions(uow_factory)
    first = asyncio.create_task(runs.write("first", hold=True))
    await asyncio.wait_for(runs.inserted.wait(), timeout=10)
    await asyncio.wait_for(runs.write("second"), timeout=10)  # nothing makes it wait
    runs.release.set()
    await asyncio.wait_for(first, timeout=10)

    assert runs.commits == ["second", "first"]
    assert await names_by_seq(engine) == ["first", "second"]
    # The stream disagrees with the database: "first" committed last, consumers see it first.
    assert await published_names(engine, session_factory, stream, local_bus) == ["first", "second"]


async def test_transactions_on_other_keys_do_not_wait(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    runs = Transactions(uow_factory)
    first = asyncio.create_task(runs.write("first", hold=True))
    await asyncio.wait_for(runs.inserted.wait(), timeout=10)
    await asyncio.wait_for(runs.write("other", key="another-aggregate"), timeout=10)
    runs.release.set()
    await asyncio.wait_for(first, timeout=10)
    assert runs.commits == ["other", "first"]


def test_key_lock_ids_are_stable_signed_64_bit_and_separate_topics() -> None:
    ids = {key_lock_id("shulian.a.b.v1", "k1"), key_lock_id("shulian.a.c.v1", "k1")}
    assert len(ids) == 2
    assert all(-(2**63) <= i < 2**63 for i in ids)
    assert key_lock_id("t", "k") == key_lock_id("t", "k") == 700568420212997364
