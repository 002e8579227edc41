"""Retention: old published outbox rows, inbox rows and idempotency keys go, in small batches;
parked, unsent and the newest published rows stay, so positions are never reused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.bus.local import LocalBus
from shulian_common.messaging import idempotency_keys, inbox, outbox
from shulian_common.outbox import OutboxRelay
from shulian_common.retention import purge

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=8)
RECENT = NOW - timedelta(days=1)
WEEK = timedelta(days=7)


def outbox_rows(first: int, count: int, **columns: Any) -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"e-{n}",
            "topic": "shulian.test.retention.v1",
            "key": f"k{n % 5}",
            "type": "cn.sichuan.shulian.test.step.recorded.v1",
            "source": "/nodes/510100/test",
            "time": OLD,
            "data": {"n": n},
            **columns,
        }
        for n in range(first, first + count)
    ]


async def fill(engine: AsyncEngine) -> None:
    """1,000 old and 200 recent published rows, an old parked row, an old unsent row."""
    old = [dict(r, published_at=OLD, position=n + 1) for n, r in enumerate(outbox_rows(0, 1000))]
    recent = [
        dict(r, published_at=RECENT, position=n + 1001)
        for n, r in enumerate(outbox_rows(1000, 200))
    ]
    parked = outbox_rows(1200, 1, parked_at=OLD, park_error="PermanentPublishError: too large")
    unsent = outbox_rows(1201, 1, created_at=OLD)
    async with engine.begin() as connection:
        for rows in (old, recent, parked, unsent):
            await connection.execute(insert(outbox), rows)


@pytest.fixture
def deletes(engine: AsyncEngine) -> Iterator[list[tuple[str, int]]]:
    """Every DELETE the engine runs: (table, rows deleted)."""
    seen: list[tuple[str, int]] = []

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM"):
            seen.append((statement.split()[2].strip('"'), cursor.rowcount))

    event.listen(engine.sync_engine, "after_cursor_execute", after)
    yield seen
    event.remove(engine.sync_engine, "after_cursor_execute", after)


async def scalars(engine: AsyncEngine, query: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(query)).scalars())


async def test_old_published_rows_go_in_batches_parked_and_unsent_stay(
    engine: AsyncEngine, deletes: list[tuple[str, int]]
) -> None:
    await fill(engine)

    purged = await purge(engine, older_than=WEEK, batch_size=300, now=NOW)

    assert purged.outbox == 1000
    left = await scalars(engine, select(outbox.c.event_id).order_by(outbox.c.seq))
    assert left == [f"e-{n}" for n in range(1000, 1202)]  # recent, parked, unsent
    outbox_deletes = [rows for table, rows in deletes if table == "outbox"]
    assert outbox_deletes == [300, 300, 300, 100]  # one short transaction per batch


async def test_the_newest_position_is_kept_so_positions_are_never_reused(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    local_bus: LocalBus,
) -> None:
    async with engine.begin() as connection:
        rows = [dict(r, published_at=OLD, position=n + 1) for n, r in enumerate(outbox_rows(0, 5))]
        await connection.execute(insert(outbox), rows)
        await connection.execute(insert(outbox), outbox_rows(5, 1))

    assert (await purge(engine, older_than=WEEK, now=NOW)).outbox == 4
    async with local_bus.publisher() as publisher:
        relay = OutboxRelay(
            engine=engine, session_factory=session_factory, publisher=publisher, listen=False
        )
        await relay.drain(timeout=10)

    positions = await scalars(engine, select(outbox.c.position).order_by(outbox.c.seq))
    assert positions == [5, 6]


async def test_old_inbox_rows_and_idempotency_keys_go(
    engine: AsyncEngine, deletes: list[tuple[str, int]]
) -> None:
    entries = [
        {"consumer": "c", "source": "/nodes/510100/x", "event_id": f"e-{n}", "processed_at": at}
        for n, at in enumerate([OLD] * 1100 + [RECENT] * 5)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(inbox), entries)
        key_rows = [
            {
                "principal_sub": "p",
                "key": f"k{n}",
                "fingerprint": "f",
                "status_code": 201,
                "body": {},
                "created_at": at,
            }
            for n, at in enumerate([OLD, OLD, OLD, RECENT, RECENT])
        ]
        await connection.execute(insert(idempotency_keys), key_rows)

    purged = await purge(engine, older_than=WEEK, batch_size=500, now=NOW)

    assert (purged.inbox, purged.idempotency_keys) == (1100, 3)
    assert await scalars(engine, select(func.count()).select_from(inbox)) == [5]
    keys = await scalars(engine, text("SELECT key FROM idempotency_keys ORDER BY key"))
    assert keys == ["k3", "k4"]
    assert max(rows for table, rows in deletes if table == "inbox") <= 500


async def test_a_database_without_old_idempotency_keys_is_purged_too(engine: AsyncEngine) -> None:
    await fill(engine)
    purged = await purge(engine, older_than=WEEK, now=NOW)
    assert (purged.outbox, purged.inbox, purged.idempotency_keys) == (1000, 0, 0)
