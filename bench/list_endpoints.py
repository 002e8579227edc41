"""List endpoints of events, matching and reporting on PostgreSQL, against raw SQL and a lean
reference, in one run (issue 13: "the same holds for one list endpoint of each other service").

    uv run python bench/list_endpoints.py [--endpoints activities,orders,warnings]
        [--activities 10000] [--orders 10000] [--requests 3000] [--concurrency 1,4]
        [--workers 1]

For each endpoint: creates its own database on the server of ``SHULIAN_BENCH_DATABASE_URL``
(default ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``), migrates it with the service's
migrations, bulk-loads generated rows, then sends the same mix of requests three ways and prints
p50/p99/requests/s, the server CPU per request and the issue-13 ratios:

- raw SQL: the statements the route runs (built as its repository builds them), through asyncpg;
- lean reference: a bare Starlette route on an asyncpg pool running the same SQL, building the
  same fields and names, answering orjson bytes (uvicorn, its own process);
- the app as a container runs it: ``shulian serve SERVICE`` (uvicorn, ``--workers`` processes).

Endpoints: ``GET /v1/activities`` (events: a page of 20 of 10,000 activities, one in five a
weekly series of four, with their occurrences, in one statement: the page joined to them;
unfiltered, by city or by kind, at a random cursor), ``GET /v1/orders`` (matching: a page of 20
of 10,000 orders; unfiltered, open ones or a city's, at a random cursor) and ``GET /v1/warnings``
(reporting: the province's open warnings, the whole list as the route answers it, unpaged:
8 rules × 22 scopes × 3 years, a third open).
The databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg  # type: ignore[import-untyped]
import orjson
from _http import (
    Result,
    Timed,
    admin,
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
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql

from shulian_common.auth import OPERATOR_ROLES, Role, decode_token, mint_token
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.http import decode_cursor, encode_cursor
from shulian_common.reference import PROVINCE_CODE
from shulian_common.reference.divisions import cities
from shulian_common.settings import Settings
from shulian_events import orm as events_orm
from shulian_events.domain.lifecycle import ActivityStatus
from shulian_events.domain.terms import ActivityKind, Campaign, HostKind, Level
from shulian_matching import orm as matching_orm
from shulian_matching.domain.access import PlacerKind
from shulian_matching.domain.orders import OrderKind, OrderStatus, Visibility
from shulian_matching.schemas import OrderRead
from shulian_reporting import orm as reporting_orm
from shulian_reporting.schemas import WarningRead

PAGE = 20
NODE = PROVINCE_CODE
CITIES = [division.code for division in cities()]
_PG = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
Statement = tuple[str, list[Any]]  # SQL with $n placeholders, and its arguments


_prepared: dict[Any, tuple[str, tuple[str, ...], dict[str, Any]]] = {}


def _sql(key: Any, build: Callable[[], Any], values: dict[str, Any]) -> Statement:
    """The statement ``build`` makes, compiled for asyncpg once per ``key`` (its shape, as a
    hand-written service holds its SQL in constants; compiling per request would cost more than
    the query), with its arguments: ``values`` by parameter name, else the compiled defaults."""
    if key not in _prepared:
        compiled = build().compile(dialect=_PG, compile_kwargs={"render_postcompile": True})
        _prepared[key] = (str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))
    sql, names, defaults = _prepared[key]
    return sql, [values[name] if name in values else defaults[name] for name in names]


# --- the endpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One list endpoint: its service, how to load it, its requests, its SQL and its lean
    rendering."""

    name: str
    service: str
    path: str
    migrations: Path
    load: Callable[[Any, int], Any]  # (session, size) -> awaitable
    queries: Callable[[random.Random, list[str]], list[dict[str, str]]]  # the request mix
    fetch: Callable[[Any, dict[str, str]], Any]  # (connection, query) -> awaitable body


T0 = datetime(2025, 1, 6, 1, 30, tzinfo=UTC)


# events: GET /v1/activities


async def load_activities(session: Any, size: int) -> None:
    rng = random.Random(11)
    kinds, levels, campaigns = list(ActivityKind), list(Level), list(Campaign)
    statuses = [ActivityStatus.SCHEDULED] * 6 + list(ActivityStatus)
    activities, occurrences, industries = [], [], []
    for i in range(size):
        city = CITIES[i % len(CITIES)]
        starts = T0 + timedelta(days=rng.randrange(365), hours=rng.randrange(8))
        series = i % 5 == 0
        status = rng.choice(statuses)
        campaign = rng.choice(campaigns) if rng.random() < 0.4 else None
        tags = rng.sample(["power_batteries", "digital_economy", "liquor_food", "equipment"], 2)
        activity_id = f"act{i:08d}"
        activities.append(
            {
                "id": activity_id,
                "owner_node": city if i % 3 else NODE,
                "version": 1,
                "created_at": T0,
                "updated_at": T0,
                "title": f"{city} 人力资源服务活动 第{i}场",
                "kind": rng.choice(kinds).value,
                "level": rng.choice(levels).value,
                "campaign": campaign.value if campaign else None,
                "division_code": city,
                "city_code": city,
                "industries": tags,
                "host_kind": HostKind.PARK.value if i % 2 else None,
                "host_ref": None,
                "host_name": f"{city} 产业园" if i % 2 else None,
                "venue": f"{city} 人才市场 {i % 40} 号厅",
                "timezone": "Asia/Shanghai",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=3),
                "rrule": "FREQ=WEEKLY;COUNT=4" if series else None,
                "overrides": [],
                "capacity": 50 + i % 500,
                "registration_opens_at": starts - timedelta(days=14),
                "registration_closes_at": starts - timedelta(days=1),
                "approval_required": i % 4 == 0,
                "status": status.value,
                "cancel_reason": "天气原因" if status is ActivityStatus.CANCELLED else None,
                "outcome": {
                    "firms_participated": 28,
                    "positions_offered": 320,
                    "intents_signed": 45,
                    "hr_managers_attended": 12,
                }
                if status is ActivityStatus.COMPLETED
                else None,
            }
        )
        for week in range(4 if series else 1):
            at = starts + timedelta(weeks=week)
            key = at.strftime("%Y%m%dT%H%M%SZ") if series else "once"
            occurrences.append(
                {
                    "activity_id": activity_id,
                    "key": key,
                    "starts_at": at,
                    "ends_at": at + timedelta(hours=3),
                    "moved": False,
                    "cancelled": False,
                }
            )
        industries += [{"activity_id": activity_id, "industry": tag} for tag in tags]
    await session.execute(insert(events_orm.Activity), activities)
    await session.execute(insert(events_orm.Occurrence), occurrences)
    await session.execute(insert(events_orm.ActivityIndustry), industries)


def activity_queries(rng: random.Random, ids: list[str]) -> list[dict[str, str]]:
    shape = rng.randrange(3)
    query = {"city": rng.choice(CITIES)} if shape == 1 else {}
    if shape == 2:
        query = {"kind": rng.choice(list(ActivityKind)).value}
    if rng.random() < 0.8:  # most ask somewhere into the list, after a random activity
        query["cursor"] = encode_cursor(rng.choice(ids))
    return [query]


_ACTIVITY_COLUMNS = (
    *("id", "owner_node", "version", "created_at", "updated_at", "title", "level"),
    *("division_code", "city_code", "host_kind", "host_ref", "host_name", "venue"),
    *("timezone", "starts_at", "ends_at", "rrule", "capacity", "registration_opens_at"),
    *("registration_closes_at", "approval_required", "cancel_reason"),
)
_RENDERED = ("kind", "campaign", "status", "industries", "outcome")
_OCCURRENCE = ("key", "starts_at", "ends_at", "moved", "cancelled")


def _activity_statement(query: dict[str, str]) -> Statement:
    """The route's one statement as ``repository.listed_activities`` builds it: the page of
    activities (``ActivityFilter``'s equality conditions) joined to their occurrences."""
    activity, occurrence = events_orm.Activity, events_orm.Occurrence
    values: dict[str, Any] = {"city": query.get("city"), "kind": query.get("kind")}
    values["after"] = decode_cursor(query.get("cursor"))
    shape = tuple(name for name, value in values.items() if value is not None)

    def build() -> Any:
        columns = activity.__table__.c
        stmt = select(*(columns[name] for name in (*_ACTIVITY_COLUMNS, *_RENDERED)))
        if "city" in shape:
            stmt = stmt.where(activity.city_code == bindparam("city", values["city"]))
        if "kind" in shape:
            stmt = stmt.where(activity.kind == bindparam("kind", values["kind"]))
        if "after" in shape:
            stmt = stmt.where(activity.id > bindparam("after", values["after"]))
        page = stmt.order_by(activity.id).limit(PAGE + 1).subquery("page")
        found = occurrence.__table__.c
        return (
            select(page, *(found[name].label(f"occurrence_{name}") for name in _OCCURRENCE))
            .select_from(page.outerjoin(occurrence, occurrence.activity_id == page.c.id))
            .order_by(page.c.id, occurrence.starts_at, occurrence.key)
        )

    return _sql(("activities", shape), build, values)


async def fetch_activities(connection: Any, query: dict[str, str]) -> dict[str, Any]:
    sql, args = _activity_statement(query)
    records = await connection.fetch(sql, *args)
    grouped: list[list[Any]] = []
    for record in records:
        if grouped and grouped[-1][0]["id"] == record["id"]:
            grouped[-1].append(record)
        else:
            grouped.append([record])
    items = []
    for rows in grouped[:PAGE]:
        row = rows[0]
        item = {name: row[name] for name in _ACTIVITY_COLUMNS}
        kind, status = ActivityKind(row["kind"]), ActivityStatus(row["status"])
        campaign = Campaign(row["campaign"]) if row["campaign"] is not None else None
        item["kind"], item["kind_label"] = kind.value, kind.label
        item["campaign"] = campaign.value if campaign else None
        item["campaign_label"] = campaign.label if campaign else None
        item["industries"] = row["industries"]
        item["status"], item["status_label"] = status.value, status.label
        item["outcome"] = row["outcome"]
        item["occurrences"] = [
            {name: found[f"occurrence_{name}"] for name in _OCCURRENCE}
            for found in rows
            if found["occurrence_key"] is not None
        ]
        item["warnings"] = []
        items.append(item)
    return _page(items, grouped)


def _page(items: list[dict[str, Any]], rows: Sequence[Any]) -> dict[str, Any]:
    more = len(rows) > PAGE and bool(items)
    return {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if more else None}


# matching: GET /v1/orders


async def load_orders(session: Any, size: int) -> None:
    rng = random.Random(13)
    statuses = [OrderStatus.OPEN] * 5 + list(OrderStatus)
    rows = []
    for i in range(size):
        city = CITIES[i % len(CITIES)]
        kind = OrderKind.SERVICE if i % 2 else OrderKind.JOB
        status = rng.choice(statuses)
        fulfilled = status is OrderStatus.FULFILLED
        rows.append(
            {
                "id": f"ord{i:08d}",
                "owner_node": city if i % 3 else NODE,
                "version": 1,
                "created_at": T0,
                "updated_at": T0,
                "kind": kind.value,
                "title": f"{city} 招聘 第{i}单",
                "placer_kind": PlacerKind.ENTERPRISE.value,
                "placed_by": f"ent{i % 700:08d}",
                "county_code": f"{city[:4]}02",
                "city_code": city,
                "service_line": "headhunting" if kind is OrderKind.SERVICE else None,
                "industry": "power_batteries",
                "occupation_code": None if kind is OrderKind.SERVICE else "2-02-07",
                "skills": ["电池工艺", "质量管理"],
                "head_count": 1 + i % 30,
                "slots": 3,
                "budget_yuan": 50_000 if kind is OrderKind.SERVICE else None,
                "monthly_pay_yuan": None if kind is OrderKind.SERVICE else 8000,
                "deadline": date(2030, 6, 30) + timedelta(days=i % 200),  # no expiry job at start
                "visibility": Visibility.PROVINCE.value,
                "visible_cities": [],
                "status": status.value,
                "awarded_count": 0,
                "accepted_count": 0,
                "terms_version": 1,
                "placements": 3 if fulfilled else None,
                "contract_value_yuan": 45_000 if fulfilled else None,
                "fulfilled_at": T0 if fulfilled else None,
            }
        )
    await session.execute(insert(matching_orm.Order), rows)


def order_queries(rng: random.Random, ids: list[str]) -> list[dict[str, str]]:
    shape = rng.randrange(3)
    query = {"status": "open"} if shape == 1 else {}
    if shape == 2:
        query = {"city_code": rng.choice(CITIES)}
    if rng.random() < 0.8:
        query["cursor"] = encode_cursor(rng.choice(ids))
    return [query]


_ORDER_FIELDS = tuple(OrderRead.model_fields)


async def fetch_orders(connection: Any, query: dict[str, str]) -> dict[str, Any]:
    """``repository.list_orders``'s statement, the fields of ``OrderRead``."""
    order = matching_orm.Order
    values: dict[str, Any] = {f"{c}_1": query[c] for c in ("status", "city_code") if c in query}
    values["after"] = decode_cursor(query.get("cursor"))
    shape = tuple(name for name, value in values.items() if value is not None)

    def build() -> Any:
        stmt = select(order)
        for column in ("status", "city_code"):
            if f"{column}_1" in shape:
                stmt = stmt.where(getattr(order, column).in_([query[column]]))
        if "after" in shape:
            stmt = stmt.where(order.id > bindparam("after", values["after"]))
        return stmt.order_by(order.id).limit(PAGE + 1)

    sql, args = _sql(("orders", shape), build, values)
    rows = await connection.fetch(sql, *args)
    return _page([{name: row[name] for name in _ORDER_FIELDS} for row in rows[:PAGE]], rows)


# reporting: GET /v1/warnings (the province's open warnings)

RULES = 8
YEARS = (2023, 2024, 2025)


async def load_warnings(session: Any, _size: int) -> None:
    rows = []
    scopes = [PROVINCE_CODE, *CITIES]
    for year in YEARS:
        for rule in range(RULES):
            for n, scope in enumerate(scopes):
                raised = T0.replace(year=year) + timedelta(days=rule * 7 + n)
                cleared = (rule + n + year) % 3 != 0
                rows.append(
                    {
                        "id": f"w{year}{rule:02d}{scope}",
                        "owner_node": NODE,
                        "version": 2 if cleared else 1,
                        "created_at": raised,
                        "updated_at": raised,
                        "rule_code": f"rule_{rule}",
                        "scope_code": scope,
                        "year": year,
                        "message": f"{scope} {year}年 指标低于进度要求（规则 {rule}）",
                        "raised_at": raised,
                        "cleared_at": raised + timedelta(days=30) if cleared else None,
                    }
                )
    await session.execute(insert(reporting_orm.Warning), rows)


def warning_queries(_rng: random.Random, _ids: list[str]) -> list[dict[str, str]]:
    return [{}]


_WARNING_FIELDS = tuple(WarningRead.model_fields)


async def fetch_warnings(connection: Any, _query: dict[str, str]) -> list[dict[str, Any]]:
    """``repository.list_warnings``'s statement for the province (open ones, every scope)."""
    warning = reporting_orm.Warning

    def build() -> Any:
        stmt = select(warning).where(warning.cleared_at.is_(None))
        return stmt.order_by(warning.raised_at.desc(), warning.id)

    sql, args = _sql("warnings", build, {})
    return [
        {name: row[name] for name in _WARNING_FIELDS} for row in await connection.fetch(sql, *args)
    ]


ENDPOINTS = {
    "activities": Endpoint(
        "activities", "events", "/v1/activities", events_orm.MIGRATIONS,
        load_activities, activity_queries, fetch_activities,
    ),
    "orders": Endpoint(
        "orders", "matching", "/v1/orders", matching_orm.MIGRATIONS,
        load_orders, order_queries, fetch_orders,
    ),
    "warnings": Endpoint(
        "warnings", "reporting", "/v1/warnings", reporting_orm.MIGRATIONS,
        load_warnings, warning_queries, fetch_warnings,
    ),
}  # fmt: skip
TABLE = {"activities": "activities", "orders": "orders", "warnings": "warnings"}


# --- the three ways -------------------------------------------------------------------------


def _settings() -> Settings:
    return Settings(env="test", node_id=NODE)


def _bearer() -> dict[str, str]:
    token = mint_token(_settings(), role=Role.PROVINCE_ADMIN, node=NODE, sub="bench")
    return {"Authorization": f"Bearer {token}"}


def _targets(endpoint: Endpoint, plan: Sequence[dict[str, str]]) -> list[str]:
    return [f"{endpoint.path}?{urlencode(query)}" if query else endpoint.path for query in plan]


async def bench_sql(url: str, endpoint: Endpoint, plan: Sequence[dict[str, str]], c: int) -> Timed:
    """The route's statements straight through asyncpg (no HTTP, no rendering)."""
    pool = await asyncpg.create_pool(dsn(url), min_size=c, max_size=c)
    try:

        async def call(i: int) -> None:
            async with pool.acquire() as connection:
                await _raw(endpoint, connection, plan[i % len(plan)])

        for i in range(min(len(plan), 50)):
            await call(i)
        latencies, elapsed = await measure(call, len(plan), c)
        return latencies, elapsed, None
    finally:
        await pool.close()


async def _raw(endpoint: Endpoint, connection: Any, query: dict[str, str]) -> None:
    """The statements only: what ``fetch`` runs, without building any field."""
    await endpoint.fetch(_Bare(connection), query)


class _Bare:
    """A connection whose ``fetch`` returns the records only: the statement is the route's, the
    field building on top of it is skipped."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        await self.connection.fetch(sql, *args)
        return []


async def bench_lean(url: str, endpoint: Endpoint, plan: Sequence[dict[str, str]], c: int) -> Timed:
    port = free_port()
    command = (sys.executable, __file__, "--serve-lean", f"{endpoint.name}:{port}")
    env = {"SHULIAN_BENCH_LEAN_URL": url, "SHULIAN_ENV": "test"}
    return await over_http(command, env, port, _targets(endpoint, plan), c, _bearer())


async def bench_app(
    url: str,
    endpoint: Endpoint,
    plan: Sequence[dict[str, str]],
    c: int,
    workers: int,
    baseline: str | None = None,
) -> Timed:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        bus = f"local://{Path(tmp) / 'bus.db'}"
        env = serve_env(url, bus, tmp, port, workers, baseline=baseline)
        command = serve_command(endpoint.service)
        return await over_http(command, env, port, _targets(endpoint, plan), c, _bearer())


def lean_app(endpoint: Endpoint, url: str) -> Any:
    """The floor for ``endpoint``: a bare Starlette route on an asyncpg pool running the
    route's SQL, building the same fields and names, answering orjson bytes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    settings = _settings()
    pools: list[Any] = []

    async def route(request: Request) -> Response:
        principal = decode_token(settings, request.headers["authorization"].split(" ", 1)[1])
        if principal.role not in OPERATOR_ROLES:
            return Response(status_code=403)
        async with pools[0].acquire() as connection:
            body = await endpoint.fetch(connection, dict(request.query_params))
        return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")

    async def healthz(_request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        pools.append(await lean_pool(url))
        gc.collect()  # the floor gets the app's start-up cure too
        gc.freeze()
        yield
        await pools[0].close()

    return Starlette(
        routes=[Route(endpoint.path, route), Route("/healthz", healthz)], lifespan=lifespan
    )


def serve_lean(spec: str) -> None:
    import uvicorn

    name, port = spec.split(":")
    app = lean_app(ENDPOINTS[name], os.environ["SHULIAN_BENCH_LEAN_URL"])
    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


# --- the run --------------------------------------------------------------------------------


async def prepare(url: str, endpoint: Endpoint, size: int) -> list[str]:
    """Migrate, load, analyse; the ids of the endpoint's table."""
    engine = create_engine(url)
    try:
        await migrate(engine, endpoint.migrations)
        async with create_session_factory(engine)() as session:
            await endpoint.load(session, size)
            await session.commit()
        pool = await asyncpg.create_pool(dsn(url), min_size=1, max_size=1)
        try:
            async with pool.acquire() as connection:
                await connection.execute("VACUUM ANALYZE")
                table = TABLE[endpoint.name]
                ids = [row["id"] for row in await connection.fetch(f"SELECT id FROM {table}")]
        finally:
            await pool.close()
    finally:
        await engine.dispose()
    print(f"== {endpoint.service} GET {endpoint.path}: {len(ids)} rows in {TABLE[endpoint.name]}")
    return ids


async def run_endpoint(endpoint: Endpoint, size: int, args: argparse.Namespace) -> None:
    database = f"{args.database_prefix}{endpoint.name}"
    url = database_url(database)
    await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{database}"')
    try:
        ids = await prepare(url, endpoint, size)
        rng = random.Random(7)
        plan = [query for _ in range(args.requests) for query in endpoint.queries(rng, ids)]
        rounds: list[tuple[int, Result, Result, Result]] = []
        for c in args.concurrency:
            print(f"-- concurrency {c}, load average {os.getloadavg()[0]:.1f}")
            sql = report("raw SQL (asyncpg)", *await bench_sql(url, endpoint, plan, c))
            lean = report("lean reference (HTTP)", *await bench_lean(url, endpoint, plan, c))
            if args.baseline:
                # Another checkout's app just before this one's, on the same database and plan.
                baseline = await bench_app(url, endpoint, plan, c, args.workers, args.baseline)
                print_ratios(sql, lean, report("baseline app over HTTP", *baseline))
            app: Result = report(
                f"app over HTTP ({args.workers} worker{'s' if args.workers > 1 else ''})",
                *await bench_app(url, endpoint, plan, c, args.workers),
            )
            print_ratios(sql, lean, app)
            rounds.append((c, sql, lean, app))
        print_rounds(rounds)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


async def main(args: argparse.Namespace) -> None:
    sizes = {"activities": args.activities, "orders": args.orders, "warnings": 0}
    for name in args.endpoints:
        await run_endpoint(ENDPOINTS[name], sizes[name], args)


def _levels(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=lambda t: t.split(","), default=list(ENDPOINTS))
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=_levels, default=[1, 4], help="e.g. 1,4")
    parser.add_argument("--workers", type=int, default=1, help="processes of the app")
    parser.add_argument(
        "--database-prefix",
        default="shulian_bench_list_",
        help="of each endpoint's database's name (default shulian_bench_list_)",
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also the app from another checkout (e.g. `git archive int`), just before this one",
    )
    parser.add_argument("--serve-lean", metavar="NAME:PORT", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve_lean is not None:
        serve_lean(parsed.serve_lean)
    else:
        asyncio.run(main(parsed))
