"""A request's read connection (``db.ReadConnection``) runs a SELECT on asyncpg itself, with the
rows, values and errors SQLAlchemy would give, and leaves everything else to SQLAlchemy."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    event,
    func,
    insert,
    make_url,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import CursorResult, RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler

from shulian_common.app import start_runtime, stop_runtime
from shulian_common.db import (
    POOL_MAX_OVERFLOW,
    POOL_SIZE,
    READ_POOL_SETTINGS,
    SERVER_SETTINGS,
    ReadConnection,
    ReadPool,
    close_read_pool,
    create_engine,
    create_read_engine,
    create_read_pool,
    create_session_factory,
    fetch_mappings,
)
from shulian_common.deps import get_connection
from shulian_common.records import UTCDateTime
from shulian_common.schemas import plain_fields, plain_rows
from shulian_common.settings import Settings


class Kind(enum.Enum):
    PARK = "park"
    MARKET = "market"


_metadata = MetaData()
places = Table(
    "read_connection_places",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50)),
    Column("city", String(6)),
    Column("opened_at", DateTime(timezone=True)),
    Column("facts", JSON),
    Column("ratio", Float),
    Column("price", Numeric(10, 2)),
    Column("open", Boolean),
    Column("kind", Enum(Kind, native_enum=False, length=10)),
)
ROWS = [
    {
        "id": i,
        "name": f"园区{i}",
        "city": "510100" if i % 2 else "510700",
        "opened_at": datetime(2026, 1, i, 8, 30, tzinfo=UTC),
        "facts": {"beds": i, "tags": ["a", "b"][: i % 3]},
        "ratio": i / 4,
        "price": Decimal(f"{i}.25"),
        "open": i % 3 != 0,
        "kind": Kind.PARK if i % 2 else Kind.MARKET,
    }
    for i in range(1, 9)
]


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The writers' engine and its read engine, on a table of ``ROWS``."""
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(_metadata.create_all)
        await connection.execute(insert(places), ROWS)
    try:
        yield engine, create_read_engine(engine)
    finally:
        await engine.dispose()


def _postgres(engine: AsyncEngine) -> bool:
    return make_url(str(engine.url)).get_backend_name() == "postgresql"


QUERIES: list[tuple[Any, dict[str, Any] | None]] = [
    (select(places).order_by(places.c.id), None),
    (select(places).where(places.c.city.in_(["510100", "511500"])).order_by(places.c.id), None),
    (select(places.c.id, places.c.facts).where(places.c.id > bindparam("after")), {"after": 5}),
    (select(places.c.name, places.c.price).where(places.c.kind == Kind.MARKET), None),
    (select(func.count()).select_from(places).where(places.c.open.is_(True)), None),
    (select(places.c.id.label("n"), places.c.ratio).order_by(places.c.ratio.desc()).limit(3), None),
]


@pytest.mark.parametrize(("statement", "parameters"), QUERIES)
async def test_a_select_gives_the_rows_sqlalchemy_gives(
    engines: tuple[AsyncEngine, AsyncEngine], statement: Any, parameters: dict[str, Any] | None
) -> None:
    _, read = engines
    async with read.connect() as connection:
        expected = (await connection.execute(statement, parameters)).all()
    async with ReadConnection(read) as connection:
        result = await connection.execute(statement, parameters)
        rows = result.all()
        # On PostgreSQL the driver ran it (no cursor result); SQLite goes through SQLAlchemy.
        assert isinstance(result, CursorResult) is not _postgres(read)
    assert expected
    assert rows == expected
    assert [row._mapping for row in rows] == [row._mapping for row in expected]
    assert [type(value) for value in rows[0]] == [type(value) for value in expected[0]]
    for column in statement.selected_columns:  # by column object, as a cursor result allows
        assert rows[0]._mapping[column] == expected[0]._mapping[column]


async def test_values_are_bound_per_statement_not_per_shape(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    # Two statements of one shape (one compiled SQL) with different values inside them, each
    # run twice (the second time known by identity): each returns its own rows.
    _, read = engines
    first = select(places.c.id).where(places.c.city == "510100").order_by(places.c.id)
    second = select(places.c.id).where(places.c.city == "510700").order_by(places.c.id)
    async with ReadConnection(read) as connection:
        for _ in range(2):
            assert (await connection.execute(first)).scalars().all() == [1, 3, 5, 7]
            assert (await connection.execute(second)).scalars().all() == [2, 4, 6, 8]
            wider = select(places.c.id).where(places.c.id.in_([2, 3, 4]))
            assert sorted((await connection.execute(wider)).scalars()) == [2, 3, 4]
            fewer = select(places.c.id).where(places.c.id.in_([8]))
            assert (await connection.execute(fewer)).scalars().all() == [8]


async def test_a_select_is_one_round_trip(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    sent: list[str] = []

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda r: sent.append(r.query))

    event.listen(engine.sync_engine, "connect", on_connect)
    try:
        read = create_read_engine(engine)
        for n in (41, 7):
            async with ReadConnection(read) as connection:
                statement = select(bindparam("n", type_=Integer) + 1)
                result = await connection.execute(statement, {"n": n})
                assert not isinstance(result, CursorResult)
                assert result.scalar_one() == n + 1
        assert len([q for q in sent if "+" in q]) == 2
        assert not [q for q in sent if q.split()[0].upper() in ("BEGIN", "ROLLBACK", "SET")]
    finally:
        await engine.dispose()


async def test_anything_else_goes_through_sqlalchemy(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    engine, read = engines
    async with ReadConnection(read) as connection:
        # Writes are still refused on the read engine (they would commit at once).
        with pytest.raises(RuntimeError, match="read-only"):
            await connection.execute(insert(places).values(id=99))
        # Text, execution options: SQLAlchemy's cursor result.
        found = await connection.execute(text("SELECT count(*) FROM read_connection_places"))
        assert isinstance(found, CursorResult)
        assert found.scalar_one() == len(ROWS)
        optioned = select(places.c.id).execution_options(note="any option")
        assert isinstance(await connection.execute(optioned), CursorResult)
    # Inside a transaction (the writers' engine), SQLAlchemy runs it, in that transaction.
    async with ReadConnection(engine) as connection, connection.begin():
        assert isinstance(await connection.execute(select(places.c.id)), CursorResult)


async def test_errors_are_sqlalchemys(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    _, read = engines
    missing = Table("read_connection_nowhere", MetaData(), Column("id", Integer))
    async with ReadConnection(read) as connection:
        with pytest.raises(DBAPIError):
            await connection.execute(select(missing.c.id))
    async with ReadConnection(read) as connection:  # the pooled connection is usable again
        assert (await connection.execute(select(func.count()).select_from(places))).scalar() == 8


async def test_cursor_listeners_see_every_query(postgres_url: str) -> None:
    # Telemetry's SQLAlchemy instrumentation listens to cursor executions: with a listener the
    # read connection leaves every statement to SQLAlchemy, so no query goes unseen.
    engine = create_engine(postgres_url)
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    try:
        async with ReadConnection(create_read_engine(engine)) as connection:
            result = await connection.execute(select(bindparam("n", type_=Integer)), {"n": 1})
            assert isinstance(result, CursorResult)
        assert len(seen) == 1
    finally:
        await engine.dispose()


class _SpyPool:
    """A read pool that records its checkouts and the SQL sent on the connections it lends."""

    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool
        self.acquired = 0
        self.released = 0
        self.sent: list[str] = []

    async def acquire(self) -> Any:
        driver = await self.pool.acquire()
        driver.add_query_logger(self._log)
        self.acquired += 1
        return driver

    async def release(self, connection: Any) -> None:
        connection.remove_query_logger(self._log)
        await self.pool.release(connection)
        self.released += 1

    async def close(self) -> None:
        await self.pool.close()

    def terminate(self) -> None:
        self.pool.terminate()

    def _log(self, record: Any) -> None:
        self.sent.append(record.query)


@pytest.fixture
async def pooled(postgres_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine, _SpyPool]]:
    """The writers' engine on a table of ``ROWS``, its read engine and its read pool (spied)."""
    engine = create_engine(postgres_url)
    async with engine.begin() as connection:
        await connection.run_sync(_metadata.drop_all)
        await connection.run_sync(_metadata.create_all)
        await connection.execute(insert(places), ROWS)
    read = create_read_engine(engine)
    read_pool = await create_read_pool(read)
    assert read_pool is not None
    try:
        yield engine, read, _SpyPool(read_pool)
    finally:
        await close_read_pool(read_pool)
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.drop_all)
        await engine.dispose()


@pytest.mark.parametrize(("statement", "parameters"), QUERIES)
async def test_a_pooled_select_runs_on_the_read_pool_with_sqlalchemys_rows(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
    statement: Any,
    parameters: dict[str, Any] | None,
) -> None:
    engine, read, spy = pooled
    async with read.connect() as connection:
        expected = (await connection.execute(statement, parameters)).all()
    async with ReadConnection(read, spy) as connection:
        result = await connection.execute(statement, parameters)
        # Neither SQLAlchemy's pool nor its execution: the read pool's connection ran it.
        assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert connection.sync_connection is None
        assert not isinstance(result, CursorResult)
        rows = result.all()
    assert (spy.acquired, spy.released) == (1, 1)
    assert expected
    assert rows == expected
    assert [type(value) for value in rows[0]] == [type(value) for value in expected[0]]
    for column in statement.selected_columns:
        assert rows[0]._mapping[column] == expected[0]._mapping[column]


async def test_a_pooled_select_is_one_round_trip_and_its_release_none(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
) -> None:
    _, read, spy = pooled
    for n in (41, 7):
        async with ReadConnection(read, spy) as connection:
            statement = select(bindparam("n", type_=Integer) + 1)
            assert (await connection.execute(statement, {"n": n})).scalar_one() == n + 1
    # asyncpg's reset on release (RESET ALL, UNLISTEN…) would be a round trip per request.
    assert spy.sent == [spy.sent[0]] * 2
    assert "+" in spy.sent[0]


async def test_the_read_pool_has_the_engines_settings_and_size(postgres_url: str) -> None:
    settings = {**SERVER_SETTINGS, "application_name": "shulian-read-pool-test"}
    engine = create_engine(
        postgres_url, pool_size=3, max_overflow=2, connect_args={"server_settings": settings}
    )
    read = create_read_engine(engine)
    read_pool = await create_read_pool(read)
    assert read_pool is not None
    names = [*settings, *READ_POOL_SETTINGS]
    statement = select(*(func.current_setting(name) for name in names))
    try:
        async with read.connect() as connection:
            engines = (await connection.execute(statement)).one()
        async with ReadConnection(read, read_pool) as connection:
            pools = (await connection.execute(statement)).one()
        assert dict(zip(names, pools, strict=True)) == {
            **dict(zip(settings, engines[: len(settings)], strict=True)),
            **READ_POOL_SETTINGS,
        }
        assert engines[len(settings)] == "off"  # the read-only setting is the pool's own
        assert (read_pool.get_min_size(), read_pool.get_max_size()) == (0, 5)  # type: ignore[attr-defined]
    finally:
        await close_read_pool(read_pool)
        await engine.dispose()


async def test_a_read_pool_refuses_writes_in_the_database(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
) -> None:
    _, _, spy = pooled
    driver = await spy.acquire()
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            await driver.execute("DELETE FROM read_connection_places")
    finally:
        await spy.release(driver)


async def test_a_pooled_connection_leaves_anything_else_to_sqlalchemy(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
) -> None:
    engine, read, spy = pooled
    async with ReadConnection(read, spy) as connection:
        with pytest.raises(RuntimeError, match="read-only"):
            await connection.execute(insert(places).values(id=99))
        found = await connection.execute(text("SELECT count(*) FROM read_connection_places"))
        assert isinstance(found, CursorResult)
        assert found.scalar_one() == len(ROWS)
        optioned = select(places.c.id).execution_options(note="any option")
        assert isinstance(await connection.execute(optioned), CursorResult)
        assert await connection.run_sync(lambda sync: sync.closed) is False
        # Selects go to the driver again once SQLAlchemy's connection is open.
        again = await connection.execute(select(func.count()).select_from(places))
        assert not isinstance(again, CursorResult)
    # Both connections went back to their pools.
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert (spy.acquired, spy.released) == (1, 1)


async def test_a_pooled_error_is_sqlalchemys_and_the_connection_goes_back(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
) -> None:
    engine, read, spy = pooled
    missing = Table("read_connection_nowhere", MetaData(), Column("id", Integer))
    with pytest.raises(DBAPIError):
        async with ReadConnection(read, spy) as connection:
            await connection.execute(select(missing.c.id))
    assert (spy.acquired, spy.released) == (1, 1)
    assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with ReadConnection(read, spy) as connection:
        assert (await connection.execute(select(func.count()).select_from(places))).scalar() == 8


async def test_a_read_pool_only_where_the_driver_is_asyncpg_and_not_traced(
    tmp_path: Path, postgres_url: str
) -> None:
    sqlite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    foreign = create_async_engine(postgres_url)  # not made by ``create_engine``: settings unknown
    traced = create_engine(postgres_url)  # its reads go through SQLAlchemy, seen by a listener
    event.listen(traced.sync_engine, "before_cursor_execute", lambda *_: None)
    try:
        assert await create_read_pool(create_read_engine(sqlite)) is None
        assert await create_read_pool(foreign) is None
        assert await create_read_pool(create_read_engine(traced)) is None
    finally:
        await sqlite.dispose()
        await foreign.dispose()
        await traced.dispose()


async def test_a_runtime_serves_read_connections_from_its_read_pool_and_closes_it(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = Settings(
        env="test", service="readpool", data_dir=tmp_path, database_url=postgres_url, http_only=True
    )
    runtime = await start_runtime(settings)
    read_pool: Any = runtime.read_pool
    try:
        assert read_pool is not None
        assert read_pool.get_max_size() == POOL_SIZE + POOL_MAX_OVERFLOW
        request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(runtime=runtime)))
        dependency = get_connection(request)
        connection = await anext(dependency)
        assert isinstance(connection, ReadConnection)
        assert (
            await connection.execute(select(bindparam("n", type_=Integer)), {"n": 3})
        ).scalar() == 3
        assert read_pool.get_size() - read_pool.get_idle_size() == 1  # checked out of it
        assert runtime.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        with pytest.raises(StopAsyncIteration):
            await anext(dependency)
        assert read_pool.get_idle_size() == read_pool.get_size() == 1
    finally:
        await stop_runtime(runtime)
    assert read_pool.is_closing()
    assert read_pool.get_size() == 0


@pytest.mark.parametrize(("statement", "parameters"), QUERIES)
async def test_mappings_are_sqlalchemys_without_rows_where_nothing_converts(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
    statement: Any,
    parameters: dict[str, Any] | None,
) -> None:
    _, read, spy = pooled
    async with read.connect() as connection:
        expected = [dict(m) for m in (await connection.execute(statement, parameters)).mappings()]
    for _ in range(2):  # the first run learns whether the shape's records are plain
        async with ReadConnection(read, spy) as connection:
            found = await connection.mappings(statement, parameters)
        assert [{key: m[key] for key in m.keys()} for m in found] == expected  # noqa: SIM118
    converts = any(isinstance(column.type, Enum) for column in statement.selected_columns)
    # asyncpg's records where no column converts; SQLAlchemy's mappings (converted) otherwise.
    assert all(isinstance(m, RowMapping) for m in found) is converts


async def test_mappings_without_a_read_pool_or_on_sqlite(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _, read = engines
    statement = select(places.c.id, places.c.kind).order_by(places.c.id)
    async with ReadConnection(read) as connection:
        found = await connection.mappings(statement)
    assert [(m["id"], m["kind"]) for m in found] == [(row["id"], row["kind"]) for row in ROWS]


async def test_utc_timestamps_come_back_aware_without_a_processor_on_postgresql(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
) -> None:
    _, read, spy = pooled
    # A timestamptz comes back with its offset: no processor, so such rows stay plain records.
    assert UTCDateTime()._cached_result_processor(read.dialect, None) is None
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    statement = select(bindparam("t", type_=UTCDateTime()).label("t"))
    async with read.connect() as connection:
        assert (await connection.execute(statement, {"t": moment})).scalar_one() == moment
    async with ReadConnection(read, spy) as connection:
        [found] = await connection.mappings(statement, {"t": moment})
    assert found["t"] == moment
    assert found["t"].utcoffset() is not None


class _PlaceRead(BaseModel):
    """Some of ``places``' columns, in another order than the table's (read by position)."""

    name: str
    id: int
    opened_at: datetime
    city: str


async def test_fetch_mappings_is_the_same_on_a_read_connection_a_connection_and_a_session(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
) -> None:
    engine, read, spy = pooled
    columns = ("id", "city", "opened_at", "facts", "name")  # none converts
    statement = select(*(places.c[name] for name in columns)).order_by(places.c.id)
    expected = [{name: row[name] for name in columns} for row in ROWS]
    for _ in range(2):  # the first run learns that the shape's records are plain
        async with ReadConnection(read, spy) as connection:
            records = await fetch_mappings(connection, statement)
    async with engine.connect() as connection:
        mappings = await fetch_mappings(connection, statement)
    async with create_session_factory(engine)() as session:
        from_session = await fetch_mappings(session, statement)
    assert not isinstance(records[0], RowMapping)  # the driver's records
    assert isinstance(mappings[0], RowMapping)
    assert isinstance(from_session[0], RowMapping)
    for found in (records, mappings, from_session):
        assert [{key: m[key] for key in m.keys()} for m in found] == expected  # noqa: SIM118
        # Rendered by position where the rows allow it, the same as by name.
        assert plain_rows(_PlaceRead, found) == [plain_fields(_PlaceRead, m) for m in found]
        assert plain_rows(_PlaceRead, found) == [
            {
                "name": row["name"],
                "id": row["id"],
                "opened_at": row["opened_at"],
                "city": row["city"],
            }
            for row in ROWS
        ]


async def test_in_lists_are_rendered_once_per_lengths_with_each_runs_values(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, read, spy = pooled
    statement = (
        select(places.c.id)
        .where(places.c.city.in_(bindparam("cities", expanding=True)))
        .where(places.c.kind.in_(bindparam("kinds", expanding=True)))  # a bind processor
        .where(places.c.id > bindparam("after"))
        .order_by(places.c.id)
    )
    rendered: list[int] = []
    render = SQLCompiler._process_parameters_for_postcompile

    def counted(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        rendered.append(1)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "_process_parameters_for_postcompile", counted)
    runs: list[dict[str, Any]] = [
        {"cities": ["510100"], "kinds": [Kind.PARK], "after": 0},
        {"cities": ["510700"], "kinds": [Kind.MARKET], "after": 2},  # same lengths, new values
        {"cities": ["510100", "510700"], "kinds": [Kind.PARK, Kind.MARKET], "after": 5},
        {"cities": ["510700", "510100"], "kinds": [Kind.MARKET], "after": 1},
        {"cities": [], "kinds": [Kind.PARK], "after": 0},  # SQLAlchemy's empty IN
        {"cities": ["510100"], "kinds": [Kind.MARKET], "after": 0},  # no rows
    ]
    for parameters in runs * 2:
        expected = [
            row["id"]
            for row in ROWS
            if row["city"] in parameters["cities"]
            and row["kind"] in parameters["kinds"]
            and row["id"] > parameters["after"]
        ]
        async with ReadConnection(read, spy) as connection:
            assert (await connection.execute(statement, parameters)).scalars().all() == expected
    assert spy.acquired == len(runs) * 2  # each ran on the driver, not through SQLAlchemy
    assert len(rendered) == 4  # once per distinct pair of lengths, then replayed


async def test_tuple_in_lists_and_literal_values_are_rendered_by_sqlalchemy_each_run(
    pooled: tuple[AsyncEngine, AsyncEngine, _SpyPool],
) -> None:
    _, read, spy = pooled
    pairs = select(places.c.id).where(
        tuple_(places.c.city, places.c.open).in_(bindparam("pairs", expanding=True))
    )
    literal = select(places.c.id).where(
        places.c.id.in_(bindparam("ids", expanding=True, literal_execute=True))
    )
    runs: list[tuple[Any, dict[str, Any]]] = [
        (pairs, {"pairs": [("510100", True)]}),
        (pairs, {"pairs": [("510700", True), ("510100", False)]}),
        (literal, {"ids": [2, 3]}),
        (literal, {"ids": [7]}),
    ]
    for statement, parameters in runs * 2:
        async with read.connect() as connection:
            expected = sorted((await connection.execute(statement, parameters)).scalars())
        async with ReadConnection(read, spy) as connection:
            result = await connection.execute(statement, parameters)
            assert not isinstance(result, CursorResult)  # the driver ran it, no fallback
            found = sorted(result.scalars())
        assert expected
        assert found == expected
    assert spy.acquired == len(runs) * 2
