"""The unit of work: a write and its events commit together, or neither does."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.messaging import outbox
from shulian_common.outbox import as_utc
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory, outbox_row

SOURCE = "/nodes/510100/test"
CREATED = "cn.sichuan.shulian.test.item.created.v1"


class ItemCreated(EventModel):
    """An item was created."""

    id: str
    name: str


@pytest.fixture
def uow_factory(
    session_factory: async_sessionmaker[AsyncSession], stream: str
) -> UnitOfWorkFactory:
    events = Catalogue()
    events.register(ItemCreated, type=CREATED, topic=stream)
    return UnitOfWorkFactory(session_factory, source=SOURCE, catalogue=events)


async def create_item(uow: UnitOfWork, item_id: str) -> None:
    await uow.session.execute(
        text("INSERT INTO items (id, name) VALUES (:id, :name)"), {"id": item_id, "name": "名称"}
    )
    uow.record(ItemCreated(id=item_id, name="名称"), key=item_id)


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_write_and_its_event_commit_together(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine, stream: str
) -> None:
    async with uow_factory() as uow:
        await uow.session.execute(
            text("INSERT INTO items (id, name) VALUES ('i-1', '一号')"),
        )
        event = uow.record(ItemCreated(id="i-1", name="一号"), key="i-1", subject="items/i-1")
        await uow.commit()

    async with engine.connect() as connection:
        row = (await connection.execute(select(outbox))).one()
    assert await count(engine, "items") == 1
    assert (row.event_id, row.topic, row.key, row.type) == (event.id, stream, "i-1", CREATED)
    assert (row.source, row.subject, row.data) == (
        SOURCE,
        "items/i-1",
        {"id": "i-1", "name": "一号"},
    )
    assert as_utc(row.time) == event.time
    assert row.published_at is None
    assert row.created_at is not None


async def test_exception_in_the_block_rolls_back_write_and_event(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async def failing_handler() -> None:
        async with uow_factory() as uow:
            await create_item(uow, "i-1")
            await uow.session.flush()  # the row reached the database before the failure
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await failing_handler()

    assert await count(engine, "items") == 0
    assert await count(engine, "outbox") == 0


async def test_leaving_without_commit_rolls_back_and_drops_recorded_events(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async with uow_factory() as uow:
        await create_item(uow, "i-1")
    async with uow_factory() as uow:
        await create_item(uow, "i-2")
        await uow.rollback()
        assert uow.recorded == ()
        await create_item(uow, "i-3")
        await uow.commit()

    async with engine.connect() as connection:
        keys = (await connection.execute(select(outbox.c.key))).scalars().all()
        items = (await connection.execute(text("SELECT id FROM items"))).scalars().all()
    assert keys == ["i-3"]
    assert items == ["i-3"]


async def test_an_outbox_insert_failing_at_commit_undoes_the_write(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    async def commit_with_a_clashing_event_id() -> None:
        async with uow_factory() as uow:
            await create_item(uow, "i-1")
            (event,) = uow.recorded
            # A row already holding the event's id makes the outbox insert in commit() fail.
            await uow.session.execute(insert(outbox), [outbox_row(event, "shulian.test.x.v1")])
            await uow.commit()

    with pytest.raises(IntegrityError):
        await commit_with_a_clashing_event_id()

    assert await count(engine, "items") == 0
    assert await count(engine, "outbox") == 0


async def test_outbox_seq_follows_commit_order_of_one_aggregate(
    uow_factory: UnitOfWorkFactory, engine: AsyncEngine
) -> None:
    for n in range(3):
        async with uow_factory() as uow:
            await uow.session.execute(text(f"INSERT INTO items (id, name) VALUES ('i-{n}', 'x')"))
            uow.record(ItemCreated(id="agg", name=str(n)), key="agg")
            uow.record(ItemCreated(id="agg", name=f"{n}b"), key="agg")
            await uow.commit()

    async with engine.connect() as connection:
        names = await connection.execute(select(outbox.c.data).order_by(outbox.c.seq))
        assert [d["name"] for d in names.scalars()] == ["0", "0b", "1", "1b", "2", "2b"]
        maximum = (await connection.execute(select(func.max(outbox.c.seq)))).scalar_one()
    assert maximum == 6


async def test_record_captures_the_current_traceparent(uow_factory: UnitOfWorkFactory) -> None:
    tracer = TracerProvider().get_tracer("test")
    async with uow_factory() as uow:
        assert uow.record(ItemCreated(id="i-0", name="x"), key="i-0").traceparent is None
        with tracer.start_as_current_span("request") as span:
            event = uow.record(ItemCreated(id="i-1", name="x"), key="i-1")
    context = span.get_span_context()
    assert (
        event.traceparent
        == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )
