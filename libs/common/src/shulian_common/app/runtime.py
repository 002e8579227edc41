"""The runtime of a running service: database, bus, outbox relay and consumers, and their tasks.

A broker that is down at start does not stop the service: writes only append to the outbox, so
they keep succeeding, and the background tasks keep trying to connect and drain the backlog when
it returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common import db
from shulian_common.bus import Bus, Publisher, bus_from_url
from shulian_common.catalogue import catalogue
from shulian_common.consumer import ConsumerRunner, Subscription
from shulian_common.errors import ServiceUnavailableError
from shulian_common.messaging import has_partner_tables, outbox
from shulian_common.outbox import OutboxRelay, as_utc
from shulian_common.retention import run_retention
from shulian_common.settings import Settings
from shulian_common.telemetry import (
    configure_telemetry,
    observe_bus_up,
    observe_outbox_backlog,
    observe_outbox_oldest_age,
    telemetry_active,
)
from shulian_common.uow import UnitOfWorkFactory
from shulian_common.webhooks.dispatcher import WebhookDispatcher

logger = logging.getLogger(__name__)

# Safety nets against hangs, longer than the bus clients' own connect timeouts (5 s for Kafka) so
# that those fire first and clean up after themselves.
BUS_CONNECT_TIMEOUT = 30.0  # seconds one attempt to reach the broker may take
STOP_TIMEOUT = 10.0  # seconds background tasks get to finish on shutdown

StartupHook = Callable[["ServiceRuntime"], Awaitable[None]]
BusState = Literal["ok", "down", "unknown"]


@dataclass
class ServiceRuntime:
    """What a running service holds: database, unit-of-work factory, bus and background workers."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    uow_factory: UnitOfWorkFactory
    bus: Bus
    publisher: Publisher
    relay: OutboxRelay
    # Read-only requests' connections and sessions (``db.create_read_engine``: one round trip
    # per query on PostgreSQL, no BEGIN; writes refused).
    read_engine: AsyncEngine | None = None
    read_session_factory: async_sessionmaker[AsyncSession] | None = None
    # The driver's pool of ``deps.ConnectionDep``'s read connections (``db.create_read_pool``;
    # ``None`` on SQLite): a checkout without SQLAlchemy's ``Connection``.
    read_pool: db.ReadPool | None = None
    consumers: ConsumerRunner | None = None
    # Partner webhooks, where the service's migrations created the partner tables.
    webhooks: WebhookDispatcher | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    bus_connected: bool = False
    # The bus as the background watcher last saw it: /readyz reports it without waiting on a
    # broker that may hang. ``bus_checked_at`` is a ``time.monotonic()`` reading.
    bus_state: BusState = "unknown"
    bus_checked_at: float | None = None
    # The last samples for the metrics (their callbacks run in the SDK's thread and cannot query).
    outbox_backlog: int | None = None
    outbox_oldest_age: float | None = None

    def note_bus(self, *, up: bool) -> None:
        """Record the outcome of an attempt to reach the bus."""
        self.bus_state = "ok" if up else "down"
        self.bus_checked_at = time.monotonic()


def runtime_of(app: FastAPI) -> ServiceRuntime:
    """The runtime the lifespan started; 503 ``not_started`` outside it."""
    runtime = getattr(app.state, "runtime", None)
    if not isinstance(runtime, ServiceRuntime):
        raise ServiceUnavailableError("服务尚未启动完成", code="not_started")
    return runtime


async def start_runtime(
    settings: Settings,
    *,
    migrations: Path | None = None,
    subscriptions: Sequence[Subscription] = (),
) -> ServiceRuntime:
    """Open the database, connect the bus (or keep trying) and start relay and consumers."""
    engine = db.create_engine(settings.resolved_database_url)
    configure_telemetry(settings, engine=engine)
    if migrations is not None:
        try:
            await db.migrate(engine, migrations)
        except BaseException:
            await engine.dispose()
            raise
    session_factory = db.create_session_factory(engine)
    read_engine = db.create_read_engine(engine)
    bus = bus_from_url(settings.resolved_bus_url, settings)
    publisher = bus.publisher()
    uow_factory = UnitOfWorkFactory(session_factory, source=settings.source)
    runtime = ServiceRuntime(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        uow_factory=uow_factory,
        bus=bus,
        publisher=publisher,
        relay=_relay(settings, engine, uow_factory, publisher),
        read_engine=read_engine,
        read_session_factory=async_sessionmaker(read_engine, expire_on_commit=False),
        read_pool=await db.create_read_pool(read_engine),
    )
    if settings.http_only:
        # Another process of this service runs the background work (``app.workers``); this
        # one's writes reach its relay through the outbox (and NOTIFY on PostgreSQL).
        return runtime
    if subscriptions:
        runtime.consumers = _consumers(settings, runtime, subscriptions)
    runtime.webhooks = await _webhooks(runtime)
    runtime.bus_connected = await _connect_bus(runtime)
    runtime.note_bus(up=runtime.bus_connected)
    _start_tasks(runtime)
    return runtime


def _relay(
    settings: Settings, engine: AsyncEngine, uow_factory: UnitOfWorkFactory, publisher: Publisher
) -> OutboxRelay:
    return OutboxRelay(
        engine=engine,
        session_factory=uow_factory.session_factory,
        publisher=publisher,
        batch_size=settings.relay_batch_size,
        poll_interval=settings.relay_poll_interval,
        retry_interval=settings.relay_retry_interval,
        max_backoff=settings.relay_max_backoff,
        wake=uow_factory.events_committed,  # this process's commits wake it at once
    )


async def _webhooks(runtime: ServiceRuntime) -> WebhookDispatcher | None:
    async with runtime.engine.connect() as connection:
        if not await connection.run_sync(has_partner_tables):
            return None
    return WebhookDispatcher(
        engine=runtime.engine, settings=runtime.settings, pulse=runtime.relay.published_pulse
    )


def _consumers(
    settings: Settings, runtime: ServiceRuntime, subscriptions: Sequence[Subscription]
) -> ConsumerRunner:
    return ConsumerRunner(
        name=f"{settings.service}-{settings.node_id}",
        bus=runtime.bus,
        uow_factory=runtime.uow_factory,
        subscriptions=subscriptions,
        publisher=runtime.publisher,
        max_retries=settings.consumer_max_retries,
        retry_backoff=settings.consumer_retry_backoff,
        batch_size=settings.consumer_batch_size,
    )


async def _connect_bus(runtime: ServiceRuntime) -> bool:
    """Create this service's topics and start the publisher; ``False`` if the bus is down."""
    try:
        async with asyncio.timeout(BUS_CONNECT_TIMEOUT):
            await runtime.bus.ensure_topics(catalogue.topics(runtime.settings.service))
            await runtime.publisher.start()
    # Whatever the client library raises (BusError, OSError, Kafka errors, timeouts), the cure
    # is the same: carry on without the bus and try again later.
    except Exception as exc:
        logger.warning("bus %s unavailable: %s: %s", _bus_name(runtime), type(exc).__name__, exc)
        with suppress(Exception):
            await runtime.publisher.stop()
        return False
    return True


def _bus_name(runtime: ServiceRuntime) -> str:
    return runtime.settings.resolved_bus_url.split("://", 1)[0]


def _start_tasks(runtime: ServiceRuntime) -> None:
    runtime.tasks.append(_spawn("outbox relay", _run_relay, runtime))
    runtime.tasks.append(_spawn("retention", _run_retention, runtime))
    runtime.tasks.append(_spawn("bus watcher", _watch_bus, runtime))
    if runtime.consumers is not None:
        runtime.tasks.append(_spawn("consumers", _run_consumers, runtime))
    if runtime.webhooks is not None:
        runtime.tasks.append(_spawn("webhooks", _run_webhooks, runtime))
    if telemetry_active(runtime.settings):
        runtime.tasks.append(_spawn("outbox sampler", _sample_outbox, runtime))


def _spawn(
    name: str, work: Callable[[ServiceRuntime], Awaitable[None]], runtime: ServiceRuntime
) -> asyncio.Task[None]:
    return asyncio.create_task(_supervise(name, work, runtime), name=f"shulian {name}")


async def _supervise(
    name: str, work: Callable[[ServiceRuntime], Awaitable[None]], runtime: ServiceRuntime
) -> None:
    """Run ``work`` until stop, restarting it with back-off when it fails (e.g. bus down)."""
    settings, stop = runtime.settings, runtime.stop_event
    failures = 0
    while not stop.is_set():
        try:
            await work(runtime)
            return
        except Exception as exc:
            failures += 1
            delay = min(settings.relay_max_backoff, settings.relay_retry_interval * 2**failures)
            # The traceback once per outage is enough; a broker down for an hour is not news.
            logger.warning(
                "%s failed: %s: %s; restarting in %.2fs",
                name,
                type(exc).__name__,
                exc,
                delay,
                exc_info=failures == 1,
            )
            await _wait(stop, delay)


async def _run_relay(runtime: ServiceRuntime) -> None:
    stop = runtime.stop_event
    delay = runtime.settings.relay_retry_interval
    while not runtime.bus_connected and not stop.is_set():
        await _wait(stop, delay)
        delay = min(runtime.settings.relay_max_backoff, delay * 2)
        runtime.bus_connected = await _connect_bus(runtime)
        runtime.note_bus(up=runtime.bus_connected)
    await runtime.relay.run(stop)


async def _run_retention(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    await run_retention(
        runtime.engine,
        runtime.stop_event,
        older_than=timedelta(days=settings.retention_days),
        interval=settings.retention_interval,
        batch_size=settings.retention_batch_size,
    )


async def _run_consumers(runtime: ServiceRuntime) -> None:
    if runtime.consumers is not None:
        await runtime.consumers.run(runtime.stop_event)


async def _run_webhooks(runtime: ServiceRuntime) -> None:
    if runtime.webhooks is not None:
        await runtime.webhooks.run(runtime.stop_event)


async def probe_bus(runtime: ServiceRuntime) -> bool:
    """Ping the bus, giving up after ``ready_bus_probe_timeout_s``; whether it answered."""
    try:
        async with asyncio.timeout(runtime.settings.ready_bus_probe_timeout_s):
            await runtime.publisher.ping()
    except Exception as exc:  # whatever the client raises, the bus is not answering
        if runtime.bus_state != "down":  # once per outage: a broker down for an hour is not news
            logger.warning(
                "bus %s unreachable: %s: %s", _bus_name(runtime), type(exc).__name__, exc
            )
        return False
    return True


async def _watch_bus(runtime: ServiceRuntime) -> None:
    """Keep ``runtime.bus_state`` fresh, so /readyz never waits on a broker that hangs."""
    settings, stop = runtime.settings, runtime.stop_event
    while not stop.is_set():
        runtime.note_bus(up=await probe_bus(runtime))
        await _wait(stop, settings.ready_bus_check_interval_s)


async def oldest_unsent_age(engine: AsyncEngine) -> float | None:
    """Seconds since the oldest unpublished, unparked outbox row was committed; ``None`` if none.

    Parked rows are left out: they wait for an operator, are counted by their own metric, and would
    otherwise make this age grow without end.
    """
    # The lowest unsent seq is the oldest row, and the relay's partial index finds it at once.
    query = (
        select(outbox.c.created_at)
        .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
        .order_by(outbox.c.seq)
        .limit(1)
    )
    async with engine.connect() as connection:
        created = (await connection.execute(query)).scalar_one_or_none()
    if created is None:
        return None
    return max(0.0, (datetime.now(UTC) - as_utc(created)).total_seconds())


async def _sample_outbox(runtime: ServiceRuntime) -> None:
    """Keep the outbox samples fresh for the gauges, and report them and the bus state."""
    settings, stop = runtime.settings, runtime.stop_event
    names = {"service": settings.service, "node": settings.node_id}
    unregister = [
        observe_outbox_backlog(lambda: runtime.outbox_backlog, **names),
        observe_outbox_oldest_age(lambda: runtime.outbox_oldest_age, **names),
        observe_bus_up(lambda: _bus_up(runtime.bus_state), **names),
    ]
    try:
        while not stop.is_set():
            with suppress(Exception):  # the relay reports database trouble; keep the last sample
                backlog = await runtime.relay.backlog()
                oldest = await oldest_unsent_age(runtime.engine)
                # Both at once: a reader never sees a backlog without the age that goes with it.
                runtime.outbox_backlog, runtime.outbox_oldest_age = backlog, oldest
            await _wait(stop, settings.outbox_sample_interval_s)
    finally:
        for stop_reporting in unregister:
            stop_reporting()


def _bus_up(state: BusState) -> float | None:
    return None if state == "unknown" else float(state == "ok")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def stop_runtime(runtime: ServiceRuntime) -> None:
    """Stop the background tasks, then release the bus and the database."""
    runtime.stop_event.set()
    if runtime.tasks:
        _, pending = await asyncio.wait(runtime.tasks, timeout=STOP_TIMEOUT)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    for close in (runtime.publisher.stop, runtime.bus.close):
        try:
            await close()
        except Exception as exc:
            logger.warning("closing the bus: %s: %s", type(exc).__name__, exc)
    if runtime.read_pool is not None:
        await db.close_read_pool(runtime.read_pool)
    await runtime.engine.dispose()
