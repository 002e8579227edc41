"""The relay is woken by commits (in-process event; LISTEN/NOTIFY on PostgreSQL), not by its poll.

Each relay polls once a minute here, so an event reaching the bus within seconds proves the wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.bus.local import LocalBus
from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.outbox import OutboxRelay
from shulian_common.testing.reliability import wait_until
from shulian_common.uow import UnitOfWorkFactory

POLL = 60.0  # seconds: far longer than any wait below


class Pinged(EventModel):
    """A ping."""

    n: int


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], stream: str
) -> UnitOfWorkFactory:
    events = Catalogue()
    events.register(Pinged, type="cn.sichuan.shulian.test.ping.sent.v1", topic=stream)
    return UnitOfWorkFactory(session_factory, source="/nodes/510100/test", catalogue=events)


async def ping(uows: UnitOfWorkFactory, n: int) -> None:
    async with uows() as uow:
        uow.record(Pinged(n=n), key="p")
        await uow.commit()


def published(relay: OutboxRelay, count: int) -> Callable[[], bool]:
    return lambda: relay.published == count


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def test_a_commit_wakes_the_relay_in_process(
    uow_factory: UnitOfWorkFactory,
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    local_bus: LocalBus,
) -> None:
    async with local_bus.publisher() as publisher:
        relay = OutboxRelay(
            engine=engine,
            session_factory=session_factory,
            publisher=publisher,
            poll_interval=POLL,
            wake=uow_factory.events_committed,
            listen=False,
        )
        async with running(relay):
            for n in range(3):
                await ping(uow_factory, n)
                await wait_until(published(relay, n + 1), timeout=5, message="woken")


@pytest.mark.postgres
class TestListenNotify:
    """PostgreSQL only: SQLite has one process per database, the in-process wake-up suffices."""

    @pytest.fixture
    def database_url(self, postgres_url: str) -> str:
        return postgres_url

    async def test_a_notify_from_another_process_wakes_the_relay(
        self,
        uow_factory: UnitOfWorkFactory,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        local_bus: LocalBus,
    ) -> None:
        async with local_bus.publisher() as publisher:
            relay = OutboxRelay(
                engine=engine,
                session_factory=session_factory,
                publisher=publisher,
                poll_interval=POLL,
                wake=asyncio.Event(),  # not the factory's: only the NOTIFY can reach it
            )
            async with running(relay):
                await wait_until(lambda: relay.listening, message="LISTEN connection open")
                for n in range(3):
                    await ping(uow_factory, n)
                    await wait_until(published(relay, n + 1), timeout=5, message="woken")
