"""Fixtures of the partner tests: the kit's example service with fast webhook settings, writers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kit_example.contracts import SERVICE, NoteSaved
from kit_example.main import create_app
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.auth import Role
from shulian_common.bus.base import Publisher
from shulian_common.bus.local import LocalBus
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.envelope import CloudEvent
from shulian_common.messaging import outbox
from shulian_common.outbox import OutboxRelay
from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode, node_settings, run_node
from shulian_common.uow import outbox_row

NODE = "510100"
MIGRATIONS = Path(__file__).parents[1] / "migrations"  # the kit example's
FAST_WEBHOOKS: dict[str, Any] = {
    "webhook_timeout_s": 1.0,
    "webhook_retry_base_s": 0.3,
    "webhook_retry_factor": 2.0,
    "webhook_jitter": 0.1,
    "webhook_max_attempts": 4,
    "webhook_poll_interval_s": 0.05,
    "relay_poll_interval": 0.05,
}


def example_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of the example service as the partner tests run it (fast webhooks)."""
    values: dict[str, Any] = {"public_url": "http://kitexample", **FAST_WEBHOOKS, **overrides}
    return node_settings(
        Settings,
        database_url=database_url,
        tmp_path=tmp_path,
        node=NODE,
        service=SERVICE,
        **values,
    )


@pytest.fixture
async def node(database_url: str, tmp_path: Path) -> AsyncIterator[ServiceNode[Settings]]:
    """The example service (it creates the partner tables), its relay and dispatcher running."""
    async with run_node(create_app, example_settings(database_url, tmp_path)) as running:
        yield running


def partner(node: ServiceNode[Settings], name: str = "county-platform") -> dict[str, str]:
    """Bearer header of a partner platform."""
    return node.auth(Role.PARTNER, sub=f"partner:{name}")


async def write_notes(node: ServiceNode[Settings], count: int, *, per_commit: int = 1) -> list[str]:
    """``count`` NoteSaved events, ``per_commit`` to a transaction; their event ids in order."""
    ids: list[str] = []
    for start in range(0, count, per_commit):
        async with node.runtime.uow_factory() as uow:
            for n in range(start, min(count, start + per_commit)):
                note_id = uuid.uuid4().hex
                event = uow.record(
                    NoteSaved(
                        id=note_id,
                        owner_node=NODE,
                        version=1,
                        title=f"第{n}条",
                        seats=0,
                        updated_at=datetime.now(UTC),
                    ),
                    key=note_id,
                )
                ids.append(event.id)
            await uow.commit()
    return ids


@pytest.fixture
async def publisher(tmp_path: Path) -> AsyncIterator[Publisher]:
    """A publisher on a local log of the test's own."""
    bus = LocalBus(tmp_path / "bus.db", partitions=1)
    publisher = bus.publisher()
    await publisher.start()
    yield publisher
    await publisher.stop()
    await bus.close()


async def reader_and_writer(url: str) -> tuple[AsyncEngine, AsyncEngine]:
    """Two engines on one migrated database of the example service, as two processes have."""
    reader, writer = create_engine(url), create_engine(url)
    await migrate(reader, MIGRATIONS)
    return reader, writer


def quiet_relay(engine: AsyncEngine, publisher: Publisher, *, listen: bool) -> OutboxRelay:
    """A relay with a long poll: it never publishes on its own during a test."""
    return OutboxRelay(
        engine=engine,
        session_factory=create_session_factory(engine),
        publisher=publisher,
        poll_interval=120.0,
        listen=listen,
    )


async def commit_and_publish(writer: AsyncEngine, relay: OutboxRelay, n: int) -> CloudEvent:
    """Commit one event to the outbox on ``writer`` and relay it (another process's write)."""
    event = CloudEvent(
        source="/nodes/510100/test",
        type="cn.sichuan.shulian.test.thing.saved.v1",
        partitionkey=f"k{n}",
        data={"n": n},
    )
    async with writer.begin() as conn:
        await conn.execute(insert(outbox).values(outbox_row(event, "shulian.test.things.v1")))
    assert await relay.run_once() == 1
    return event
