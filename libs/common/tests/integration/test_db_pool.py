"""PostgreSQL pools ping a connection only when it sat idle, and replace it when it is gone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shulian_common.db import create_engine


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
