"""Directory-search benchmark: 100,000 suppliers on PostgreSQL, searched through the real app.

    uv run python bench/registry_search.py [--suppliers 100000] [--replicated 0.5]
        [--requests 4000] [--concurrency 1,4] [--workers 1] [--telemetry] [--asgi]

Creates its own database on the server of ``SHULIAN_BENCH_DATABASE_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``), migrates it, bulk-loads the generated
province (by default every other supplier as replicated from its city's node, as the province's
directory on any node holds them: one term index, rows read from both tables), then sends the
same mix of realistic searches three ways: as plain SQL through asyncpg (the baseline: the very
statements the app runs), over loopback HTTP to the lean reference (the floor an HTTP service
can reach: the same SQL, masking and names in a bare Starlette route on an asyncpg pool, orjson
bytes, served by uvicorn in its own process as the app is), over loopback HTTP to the registry
served by uvicorn in its own process (with ``--telemetry`` also exporting its traces and metrics
over OTLP to a local sink), and with ``--asgi`` through the app in this process
(``httpx.ASGITransport``, where client and app share one core). Prints p50/p99 latency and
requests/s of each, the CPU the server process spent per request, and the issue-13 ratios: app
to lean requests/s (aim ≥ 0.8) and p99 (aim ≤ 1.5) at each concurrency, and app p50 minus raw SQL
p50 (aim ≤ 3 ms at concurrency 1).
The database is dropped at the end unless ``--keep`` (``--reuse`` searches a kept one).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg  # type: ignore[import-untyped]
import httpx
import orjson
from _http import (
    Result,
    admin,
    cpu_seconds,
    database_url,
    dsn,
    free_port,
    lean_pool,
    measure,
    over_http,
    print_ratios,
    print_rounds,
    report,
    serve_command,
    serve_env,
)
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from shulian_common.auth import Role, decode_token, mint_token
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.http import decode_cursor, encode_cursor
from shulian_common.reference import get_division, is_division
from shulian_registry import domain, repository
from shulian_registry.demo import SupplierSeed, bulk_load, generate
from shulian_registry.domain import Contact
from shulian_registry.main import create_app
from shulian_registry.orm import MIGRATIONS
from shulian_registry.settings import RegistrySettings
from shulian_registry.terms import filter_groups, parse_query

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
    client: httpx.AsyncClient,
    plan: Sequence[Planned],
    concurrency: int,
    headers: dict[str, str],
    server: int | None = None,
) -> tuple[list[float], float, float | None]:
    """The searches of ``plan``, and the CPU the ``server`` process spent meanwhile."""

    async def call(i: int) -> None:
        query, cursor = plan[i % len(plan)]
        response = await client.get(f"/v1/suppliers?{_http_params(query, cursor)}", headers=headers)
        response.raise_for_status()

    for i in range(min(len(plan), 50)):  # warm-up: connections, statements, caches
        await call(i)
    before = cpu_seconds(server) if server is not None else 0.0
    latencies, elapsed = await measure(call, len(plan), concurrency)
    used = cpu_seconds(server) - before if server is not None else None
    return latencies, elapsed, used


def _targets(plan: Sequence[Planned]) -> list[str]:
    return [f"/v1/suppliers?{_http_params(query, cursor)}" for query, cursor in plan]


def _bearer(settings: RegistrySettings) -> dict[str, str]:
    token = mint_token(settings, role=Role.PARTNER, node="510000", sub="bench")
    return {"Authorization": f"Bearer {token}"}


async def bench_asgi(
    url: str, plan: Sequence[Planned], concurrency: int
) -> tuple[list[float], float, float | None]:
    """The searches through the app in this process (client and app share one core)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(url, Path(tmp))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                return await _search(client, plan, concurrency, _bearer(settings))


async def bench_uvicorn(
    url: str,
    plan: Sequence[Planned],
    concurrency: int,
    workers: int,
    otlp: str | None = None,
    baseline: str | None = None,
) -> tuple[list[float], float, float | None]:
    """The searches over loopback HTTP to the registry run as a container runs it
    (``shulian serve registry``: uvicorn, ``workers`` processes), exporting its telemetry over
    OTLP/HTTP to ``otlp`` when given, running ``baseline``'s code when given."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(url, Path(tmp))
        port = free_port()
        env = serve_env(url, settings.resolved_bus_url, tmp, port, workers, otlp, baseline)
        command = serve_command("registry")
        return await over_http(command, env, port, _targets(plan), concurrency, _bearer(settings))


async def _otlp_sink() -> tuple[asyncio.Server, str]:
    """A collector stand-in on loopback: reads each OTLP/HTTP export and answers 200, so the
    app pays the whole export path (spans, metrics, protobuf, HTTP) but nothing is stored."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = 0
                while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n")
                writer.write(b"Content-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def bench_telemetry(
    url: str, plan: Sequence[Planned], concurrency: int, workers: int
) -> tuple[list[float], float, float | None]:
    """The app's searches with telemetry on, exported to a local OTLP sink."""
    sink, endpoint = await _otlp_sink()
    try:
        return await bench_uvicorn(url, plan, concurrency, workers, otlp=endpoint)
    finally:
        sink.close()


async def bench_lean(
    url: str, plan: Sequence[Planned], concurrency: int
) -> tuple[list[float], float, float | None]:
    """The searches over loopback HTTP to the lean reference (``lean_app``) under uvicorn."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(url, Path(tmp))
        port = free_port()
        command = (sys.executable, __file__, "--serve-lean", str(port))
        env = {"SHULIAN_BENCH_LEAN_URL": url, "SHULIAN_ENV": "test"}
        return await over_http(command, env, port, _targets(plan), concurrency, _bearer(settings))


async def bench_sql(
    url: str, plan: Sequence[Planned], concurrency: int
) -> tuple[list[float], float]:
    """Run the same statements with asyncpg directly (no app, no ORM)."""
    statements = [_statement_of(query, cursor_id) for query, cursor_id in _decoded(plan)]
    pool = await asyncpg.create_pool(dsn(url), min_size=concurrency, max_size=concurrency)
    try:

        async def call(i: int) -> None:
            async with pool.acquire() as connection:
                await connection.fetch(statements[i % len(statements)])

        for i in range(min(len(plan), 50)):
            await call(i)
        return await measure(call, len(plan), concurrency)
    finally:
        await pool.close()


def _decoded(plan: Sequence[Planned]) -> list[Planned]:
    return [(query, decode_cursor(cursor)) for query, cursor in plan]


# --- the lean reference ---------------------------------------------------------------------


_PG = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
_compiled: dict[int, tuple[str, tuple[str, ...]]] = {}


def _sql_of(statement: Any) -> tuple[str, tuple[str, ...]]:
    """The SQL text (``$n`` placeholders) of one of the app's cached statements, and the names
    of its parameters in order; compiled once per statement, as a hand-written service would
    hold its SQL in constants."""
    key = id(statement)
    if key not in _compiled:
        compiled = statement.compile(dialect=_PG)
        _compiled[key] = (str(compiled), tuple(compiled.positiontup or ()))
    return _compiled[key]


def _lean_item(record: Any, principal: Any, node_id: str) -> dict[str, Any]:
    """What ``supplier_fields`` renders, from an asyncpg record: the same masking and names."""
    show = record["owner_node"] == node_id and domain.may_see_contact(
        principal, record["id"], record["county_code"]
    )
    contact = Contact(record["contact_name"], record["contact_phone"], record["contact_email"])
    shown = contact if show else contact.masked()
    region = record["uscc_region_code"]
    item = {name: record[name] for name in _LEAN_COLUMNS}
    item["uscc_region_name"] = get_division(region).name if is_division(region) else None
    item["county_name"] = get_division(record["county_code"]).name
    item["city_name"] = get_division(record["city_code"]).name
    item["contact"] = {
        "name": shown.name,
        "phone": shown.phone,
        "email": shown.email,
        "masked": not show,
    }
    return item


_LEAN_COLUMNS = (
    *("id", "owner_node", "version", "created_at", "updated_at", "name", "uscc"),
    *("uscc_region_code", "county_code", "city_code", "region", "service_lines", "industries"),
    *("high_end", "listing_status", "listing_industries", "listing_fields", "figures"),
    "description",
)


def lean_app(url: str) -> Any:
    """The floor: a bare Starlette route on an asyncpg pool running the app's SQL, with the
    same masking and names, answering orjson bytes. No dependency injection, no models, no
    middleware; the token is checked by the kit's (cached) ``decode_token``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    settings = RegistrySettings(env="test", node_id="510000", database_url=url)
    pools: list[Any] = []

    async def search(request: Request) -> Response:
        principal = decode_token(settings, request.headers["authorization"].split(" ", 1)[1])
        params = request.query_params
        text_query = parse_query(params.get("q", ""))
        groups = filter_groups(
            city=params.getlist("city"),
            region=params.getlist("region"),
            industry=params.getlist("industry"),
            service_line=params.getlist("service_line"),
            status=params.getlist("status"),
            high_end={"true": True, "false": False}.get(params.get("high_end", "")),
        )
        limit = int(params.get("limit", PAGE))
        found = repository.search(
            groups=[*groups, *text_query.groups],
            name_fragments=text_query.name_fragments,
            after=decode_cursor(params.get("cursor")),
            limit=limit + 1,
        )
        sql, names = _sql_of(found.statement)
        async with pools[0].acquire() as connection:
            rows = await connection.fetch(sql, *(found.params[name] for name in names))
        shown = rows[:limit]
        next_cursor = encode_cursor(shown[-1]["id"]) if len(rows) > limit and shown else None
        items = [_lean_item(row, principal, settings.node_id) for row in shown]
        body = orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z)
        return Response(body, media_type="application/json")

    async def healthz(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        pool = await lean_pool(url)
        pools.append(pool)
        gc.collect()  # the floor gets the app's start-up cure too
        gc.freeze()
        yield
        await pools[0].close()

    routes = [Route("/v1/suppliers", search), Route("/healthz", healthz)]
    return Starlette(routes=routes, lifespan=lifespan)


def serve_lean(port: int) -> None:
    """Run the lean reference under uvicorn on ``port`` (the benchmark's own subprocess)."""
    import uvicorn

    app = lean_app(os.environ["SHULIAN_BENCH_LEAN_URL"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


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


async def run_at(
    url: str, plan: Sequence[Planned], concurrency: int, args: argparse.Namespace
) -> tuple[int, Result, Result, Result]:
    """Every line at one concurrency, and the issue-13 ratios; the round's results."""
    print(f"-- concurrency {concurrency}, load average {os.getloadavg()[0]:.1f}")
    sql = report("raw SQL (asyncpg)", *await bench_sql(url, plan, concurrency))
    lean = report("lean reference (HTTP)", *await bench_lean(url, plan, concurrency))
    workers = args.workers
    if args.baseline:
        # Another checkout's app just before this one's, on the same database and plan.
        baseline = await bench_uvicorn(url, plan, concurrency, workers, baseline=args.baseline)
        print_ratios(sql, lean, report("baseline app over HTTP", *baseline))
    label = f"app over HTTP ({workers} worker{'s' if workers > 1 else ''})"
    app = report(label, *await bench_uvicorn(url, plan, concurrency, workers))
    if args.telemetry:
        traced = await bench_telemetry(url, plan, concurrency, workers)
        with_telemetry = report("app + telemetry (OTLP)", *traced)
        if with_telemetry.cpu is not None and app.cpu is not None:
            print(f"telemetry's price: {with_telemetry.cpu - app.cpu:+.2f} ms CPU per request")
    if args.asgi:
        report("app in-process (ASGI)", *await bench_asgi(url, plan, concurrency))
    print_ratios(sql, lean, app)
    return concurrency, sql, lean, app


async def main(args: argparse.Namespace) -> None:
    database = args.database
    url = database_url(database)
    if not args.reuse:
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin(f'CREATE DATABASE "{database}"')
    try:
        if not args.reuse:
            await prepare(url, args.suppliers, args.replicated)
        plan = _plan(args.requests, await second_pages(url))
        print(f"{len(QUERIES)} query shapes, {args.requests} requests")
        rounds = [await run_at(url, plan, concurrency, args) for concurrency in args.concurrency]
        print_rounds(rounds)
    finally:
        if not args.keep and not args.reuse:
            await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _levels(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=100_000)
    parser.add_argument(
        "--replicated", type=float, default=0.5, help="share replicated from other nodes"
    )
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=_levels, default=[1, 4], help="e.g. 1,4")
    parser.add_argument("--workers", type=int, default=1, help="processes of the app")
    parser.add_argument("--asgi", action="store_true", help="also through the app in-process")
    parser.add_argument(
        "--telemetry", action="store_true", help="also the app exporting its telemetry"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="search a database kept earlier")
    parser.add_argument("--database", default=DATABASE, help=f"its name (default {DATABASE})")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also the app from another checkout (e.g. `git archive int`), just before this one",
    )
    parser.add_argument("--serve-lean", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve_lean is not None:
        serve_lean(parsed.serve_lean)
    else:
        asyncio.run(main(parsed))
