"""Fixtures of the messaging integration tests: a migrated database, real buses, unique names."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.bus.local import LocalBus
from shulian_common.consumer import Handler
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"


def _letters(n: int) -> str:
    # Topic and type names allow only [a-z_] in their middle parts.
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:n])


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test database, upgraded through the migrations (never ``create_all``)."""
    engine = create_engine(database_url)
    await migrate(engine, MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test database."""
    return create_session_factory(engine)


@pytest.fixture
def stream() -> str:
    """A topic name of its own for this test (brokers outlive tests)."""
    return f"shulian.test.{_letters(12)}.v1"


@pytest.fixture
def consumer_name() -> str:
    """A consumer (and group) id of its own for this test."""
    return f"it-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def local_bus(tmp_path: Path) -> AsyncIterator[LocalBus]:
    """The embedded bus on a log file of this test."""
    bus = LocalBus(tmp_path / "bus.db", partitions=3)
    yield bus
    await bus.close()


@pytest.fixture
def applier() -> Handler:
    """A handler that records which events it applied, in order, in the ``applied`` table."""

    async def apply(uow: UnitOfWork, event: CloudEvent, data: object) -> None:
        await uow.session.execute(
            text(
                "INSERT INTO applied (consumer, event_id, key, n) "
                "VALUES (:consumer, :event_id, :key, :n)"
            ),
            {
                "consumer": uow.source,
                "event_id": event.id,
                "key": event.partitionkey,
                "n": int(event.data["n"]),
            },
        )

    return apply


@pytest.fixture
def fetch_applied(engine: AsyncEngine) -> Callable[[], Awaitable[list[tuple[str, int]]]]:
    """Reads ``(key, n)`` of every applied event, in the order applied."""

    async def fetch() -> list[tuple[str, int]]:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT key, n FROM applied ORDER BY seq"))
            return [(row.key, row.n) for row in rows]

    return fetch
