"""A fresh PostgreSQL database for a benchmark run (the benchmarks' own; tests use the kit's
``shulian_common.testing.postgres`` fixtures, which skip or fail instead of printing)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def postgres_database(server_url: str) -> str | None:
    """The URL of a new empty database on ``server_url``'s server, or None (said why) if the
    server refuses."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
        return None
    finally:
        await engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
