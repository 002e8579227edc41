"""Directory-search benchmark: 100,000 suppliers on PostgreSQL, searched through the real app.

    uv run python bench/registry_search.py [--suppliers 100000] [--replicated 0.5]
        [--requests 4000] [--concurrency 4]

Creates its own database on the server of ``SHULIAN_BENCH_DATABASE_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``), migrates it, bulk-loads the generated
province (by default every other supplier as replicated from its city's node, as the province's
directory on any node holds them: one term index, rows read from both tables), then sends the
same mix of realistic searches three ways: as plain SQL through asyncpg (the baseline: the very
statements the app runs), over loopback HTTP to the registry served by uvicorn in its own
process, and through the app in this process (``httpx.ASGITransport``, where client and app share
one core). Prints p50/p99 latency and requests/s of each, and the ratios.
The database is dropped at the end unless ``--keep`` (``--reuse`` searches a kept one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import make_url, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shulian_common.auth import Role, mint_token
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.http import decode_cursor, encode_cursor
from shulian_registry import repository
from shulian_registry.demo import SupplierSeed, bulk_load, generate
from shulian_registry.main import create_app
from shulian_registry.orm import MIGRATIONS
from shulian_registry.settings import RegistrySettings
from shulian_registry.terms import filter_groups, parse_query

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DATABASE = "shulian_bench_registry"
PAGE = 20
Planned = tuple[dict[str, Any], str | None]  # a query and the cursor of the page it asks for

# What people look for: free text, structured filters, both, and a second page.
QUERIES: tuple[dict[str, Any], ...] = (
    {"q": "猎头"},
    {"q": "宜宾 动力电池"},
    {"q": "宜宾动力电池"},
    {"q": "成都 人才测评"},
    {"q": "锦江 培训"},
    {"q": "凉山 劳务"},
    {"q": "绵阳 电子信息 咨询"},
    {"q": "华西"},
    {"q": "蜀才人力"},
    {"q": "自贡 彩灯"},
    {"city": "510100", "service_line": "headhunting"},
    {"region": "south", "industry": "liquor_food"},
    {"status": "listed", "industry": "electronic_information"},
    {"status": "listed"},
    {"city": "510700", "high_end": "true"},
    {"industry": "vanadium_titanium"},
    {"q": "化工", "status": "listed"},
    {"q": "德阳 装备制造", "service_line": "labour_dispatch"},
    {},
)


def _server_url() -> str:
    return os.environ.get("SHULIAN_BENCH_DATABASE_URL", DEFAULT_SERVER)


async def _admin(statement: str) -> None:
    engine = create_async_engine(_server_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def prepare(url: str, suppliers: int, replicated: float) -> None:
    """Migrate a fresh database and bulk-load the generated suppliers, the ``replicated`` share
    of them (spread evenly) as replicas of their city nodes' suppliers."""
    every = round(1 / replicated) if replicated > 0 else 0

    def picked(seed: SupplierSeed) -> bool:
        return every > 0 and seed.index % every == 0

    engine = create_engine(url)
    try:
        await migrate(engine, MIGRATIONS)
        started = time.perf_counter()
        async with create_session_factory(engine)() as session:
            loaded = await bulk_load(
                session, generate(suppliers, seed=2023), node_id="510000", replicated=picked
            )
            await session.commit()
        loading = time.perf_counter() - started
        async with engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE"))
            terms = (await connection.execute(text("SELECT count(*) FROM supplier_terms"))).scalar()
            remote = (
                await connection.execute(text("SELECT count(*) FROM remote_suppliers"))
            ).scalar()
        print(
            f"loaded {loaded} suppliers ({remote} replicated from other nodes),"
            f" {terms} search terms in {loading:.1f}s"
        )
    finally:
        await engine.dispose()


def _http_params(query: dict[str, Any], cursor: str | None) -> str:
    params = {**query, "limit": PAGE}
    if cursor:
        params["cursor"] = cursor
    return urlencode(params)


def _statement_of(query: dict[str, Any], after: str | None) -> str:
    """The SQL the app runs for ``query``, compiled for PostgreSQL with literal values."""
    text_query = parse_query(query.get("q", ""))
    groups = filter_groups(
        city=[query["city"]] if "city" in query else [],
        region=[query["region"]] if "region" in query else [],
        industry=[query["industry"]] if "industry" in query else [],
        service_line=[query["service_line"]] if "service_line" in query else [],
        status=[query["status"]] if "status" in query else [],
        high_end=True if query.get("high_end") == "true" else None,
    )
    found = repository.search(
        groups=[*groups, *text_query.groups],
        name_fragments=text_query.name_fragments,
        after=after,
        limit=PAGE + 1,
    )
    dialect = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
    bound = found.statement.params(found.params)
    compiled = bound.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


async def _measure(
    call: Callable[[int], Awaitable[None]], requests: int, concurrency: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def _report(label: str, latencies: Sequence[float], elapsed: float) -> float:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(ordered) / elapsed
    print(
        f"{label:<28} n={len(ordered):>5}  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  {rate:8.1f} req/s"
    )
    return p50


def _settings(url: str, tmp: Path) -> RegistrySettings:
    return RegistrySettings(
        env="test",
        node_id="510000",
        database_url=url,
        bus_url=f"local://{tmp / 'bus.db'}",
        data_dir=tmp,
        telemetry_enabled=False,
        log_level="WARNING",
    )


async def _search(
    client: httpx.AsyncClient, plan: Sequence[Planned], concurrency: int, headers: dict[str, str]
) -> tuple[list[float], float]:
    async def call(i: int) -> None:
        query, cursor = plan[i % len(plan)]
        response = await client.get(f"/v1/suppliers?{_http_params(query, cursor)}", headers=headers)
        response.raise_for_status()

    await call(0)  # warm-up: first connections, first statements
    return await _measure(call, len(plan), concurrency)


def _bearer(settings: RegistrySettings) -> dict[str, str]:
    token = mint_token(settings, role=Role.PARTNER, node="510000", sub="bench")
    return {"Authorization": f"Bearer {token}"}


async def bench_asgi(
    url: str, plan: Sequence[Planned], concurrency: int
) -> tuple[list[float], float]:
    """The searches through the app in this process (client and app share one core)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(url, Path(tmp))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                return await _search(client, plan, concurrency, _bearer(settings))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _until_healthy(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    for _ in range(600):
        if process.returncode is not None:
            raise RuntimeError("the registry process exited during start-up")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError("the registry did not start in time")


async def bench_uvicorn(
    url: str, plan: Sequence[Planned], concurrency: int
) -> tuple[list[float], float]:
    """The searches over loopback HTTP to the app served by uvicorn in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(url, Path(tmp))
        port = _free_port()
        env = os.environ | {
            "SHULIAN_ENV": "test",
            "SHULIAN_DATABASE_URL": url,
            "SHULIAN_BUS_URL": settings.resolved_bus_url,
            "SHULIAN_DATA_DIR": tmp,
            "SHULIAN_TELEMETRY_ENABLED": "false",
            "SHULIAN_LOG_LEVEL": "WARNING",
        }
        server = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "uvicorn", "--factory", "shulian_registry.main:create_app"),
            *("--port", str(port), "--log-level", "warning", "--no-access-log"),
            env=env,
        )
        try:
            limits = httpx.Limits(max_connections=concurrency)
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, limits=limits) as client:
                await _until_healthy(client, server)
                return await _search(client, plan, concurrency, _bearer(settings))
        finally:
            server.terminate()
            await server.wait()


async def bench_sql(
    url: str, plan: Sequence[Planned], concurrency: int
) -> tuple[list[float], float]:
    """Run the same statements with asyncpg directly (no app, no ORM)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    statements = [_statement_of(query, cursor_id) for query, cursor_id in _decoded(plan)]
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    try:

        async def call(i: int) -> None:
            async with pool.acquire() as connection:
                await connection.fetch(statements[i % len(statements)])

        await call(0)
        return await _measure(call, len(plan), concurrency)
    finally:
        await pool.close()


def _decoded(plan: Sequence[Planned]) -> list[Planned]:
    return [(query, decode_cursor(cursor)) for query, cursor in plan]


async def second_pages(url: str) -> dict[int, str]:
    """The cursor of page 2 of each query that has one (fetched once through the app's SQL)."""
    engine = create_engine(url)
    cursors: dict[int, str] = {}
    try:
        async with engine.connect() as connection:
            for i, query in enumerate(QUERIES):
                rows = (await connection.execute(text(_statement_of(query, None)))).all()
                if len(rows) > PAGE:
                    cursors[i] = encode_cursor(rows[PAGE - 1].id)
    finally:
        await engine.dispose()
    return cursors


def _plan(requests: int, cursors: dict[int, str]) -> list[Planned]:
    # Four in five searches ask for page one, one in five follows a cursor to page two.
    rng = random.Random(7)
    plan = []
    for _ in range(requests):
        i = rng.randrange(len(QUERIES))
        cursor = cursors.get(i) if rng.random() < 0.2 else None
        plan.append((QUERIES[i], cursor))
    return plan


async def main(args: argparse.Namespace) -> None:
    url = make_url(_server_url()).set(database=DATABASE).render_as_string(hide_password=False)
    if not args.reuse:
        await _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{DATABASE}"')
    try:
        if not args.reuse:
            await prepare(url, args.suppliers, args.replicated)
        plan = _plan(args.requests, await second_pages(url))
        concurrency = args.concurrency
        print(f"{len(QUERIES)} query shapes, {args.requests} requests, concurrency {concurrency}")
        sql_p50 = _report("raw SQL (asyncpg)", *await bench_sql(url, plan, concurrency))
        http_p50 = _report("app over HTTP (uvicorn)", *await bench_uvicorn(url, plan, concurrency))
        asgi_p50 = _report("app in-process (ASGI)", *await bench_asgi(url, plan, concurrency))
        print(
            f"p50 ratio to raw SQL: over HTTP {http_p50 / sql_p50:.1f}x,"
            f" in-process {asgi_p50 / sql_p50:.1f}x"
        )
    finally:
        if not args.keep and not args.reuse:
            await _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument(
        "--replicated", type=float, default=0.5, help="share replicated from other nodes"
    )
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="search a database kept earlier")
    asyncio.run(main(parser.parse_args()))
