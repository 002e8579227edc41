"""PostgreSQL pools ping a connection only when it sat idle, and replace it when it is gone; reads
cost one round trip per query and refuse writes; session settings come with the connection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.db import (
    create_engine,
    create_read_engine,
    create_read_session_factory,
    create_session_factory,
)


async def _terminate_others(url: str) -> None:
    """Close, from another connection, every other session to the database (a restart, seen
    from the pool)."""
    killer = create_engine(url)
    async with killer.connect() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await killer.dispose()


async def test_an_idle_connection_that_is_gone_is_replaced(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, ping_idle_after=0.05)
    try:
        async with engine.connect() as connection:
            before = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await _terminate_others(postgres_url)
        await asyncio.sleep(0.1)
        async with engine.connect() as connection:
            after = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert after != before
    finally:
        await engine.dispose()


async def test_a_connection_in_use_moments_ago_is_not_pinged(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, ping_idle_after=60)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        await _terminate_others(postgres_url)
        # No ping: the loss shows on first use, once; the pool then reconnects.
        with pytest.raises(DBAPIError):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


def _log_statements(engine: AsyncEngine) -> list[str]:
    """Every statement the engine's connections send from now on (BEGIN and ROLLBACK too)."""
    sent: list[str] = []

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        driver = dbapi_connection.driver_connection
        driver.add_query_logger(lambda record: sent.append(record.query))

    event.listen(engine.sync_engine, "connect", on_connect)
    return sent


async def test_a_read_session_sends_only_its_query(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    sent = _log_statements(engine)
    try:
        async with create_read_session_factory(engine)() as session:
            assert (await session.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        async with create_read_session_factory(engine)() as session:
            await session.execute(text("SELECT 2"))
        # One round trip per query: no BEGIN before it, no ROLLBACK when the session closes.
        assert [q for q in sent if "41" in q or q.strip() == "SELECT 2"] == sent[-2:]
        assert not [q for q in sent if q.split()[0].upper() in ("BEGIN", "ROLLBACK", "SET")]
    finally:
        await engine.dispose()


async def test_a_unit_of_work_session_still_runs_in_a_transaction(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    sent = _log_statements(engine)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await session.execute(text("SELECT 1"))
        assert any(q.upper().startswith("BEGIN") for q in sent)
    finally:
        await engine.dispose()


async def test_connections_plan_each_statement_for_its_values(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with create_read_session_factory(engine)() as session:
            mode = (await session.execute(text("SHOW plan_cache_mode"))).scalar_one()
        assert mode == "force_custom_plan"
    finally:
        await engine.dispose()


async def test_a_read_connection_sends_only_its_query(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    sent = _log_statements(engine)
    try:
        async with create_read_engine(engine).connect() as connection:
            assert (await connection.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        assert [q for q in sent if "41" in q] == sent[-1:]
        assert not [q for q in sent if q.split()[0].upper() in ("BEGIN", "ROLLBACK", "SET")]
    finally:
        await engine.dispose()


async def test_a_read_engine_refuses_writes_and_leaves_the_writers_engine_alone(
    database_url: str,
) -> None:
    # Without a transaction on PostgreSQL, a write through a read connection would commit at
    # once: the read engine refuses SQLAlchemy's INSERT/UPDATE/DELETE before they are sent.
    engine = create_engine(database_url)
    notes = Table("read_engine_notes", MetaData(), Column("n", Integer))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(notes.create)
        async with create_read_engine(engine).connect() as connection:
            for write in (insert(notes).values(n=1), update(notes).values(n=2), delete(notes)):
                with pytest.raises(RuntimeError, match="read-only"):
                    await connection.execute(write)
            assert (await connection.execute(select(func.count()).select_from(notes))).scalar() == 0
        async with create_read_session_factory(engine)() as session:
            with pytest.raises(RuntimeError, match="read-only"):
                await session.execute(insert(notes).values(n=1))
        async with engine.begin() as connection:
            await connection.execute(insert(notes).values(n=3))
        async with create_read_engine(engine).connect() as connection:
            assert (await connection.execute(select(notes.c.n))).scalars().all() == [3]
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(notes.drop)
        await engine.dispose()
