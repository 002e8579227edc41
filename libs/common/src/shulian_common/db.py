"""Async engines and sessions for SQLite (WAL, foreign keys) and PostgreSQL, and migrations."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic_core import from_json
from sqlalchemy import MetaData, Select, event, exc, make_url, pool, text
from sqlalchemy.engine import Connection, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.base import Executable
from sqlalchemy.util.concurrency import await_, greenlet_spawn

# Constraint names are stable across both backends, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A ``MetaData`` with the project's naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_compact_json = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


POOL_RECYCLE_SECONDS = 1800
POOL_SIZE = 10  # connections a PostgreSQL engine keeps open
POOL_MAX_OVERFLOW = 10  # and opens past them at a peak
# The most PostgreSQL connections one service process opens: its engine's pool and its read
# pool (``create_read_pool``, the same limits) at their peaks, and the ``LISTEN`` connection of
# ``notify``. Deployments size ``max_connections`` from it.
CONNECTIONS_PER_PROCESS = 2 * (POOL_SIZE + POOL_MAX_OVERFLOW) + 1
# PostgreSQL settings of every pooled connection. ``force_custom_plan``: a search term's share of
# rows ranges from 0.01 % (a brand) to 45 % (a status), so a cached generic plan, blind to the
# values, is often ten times slower than one planned for them; and the kit's statements are small
# enough that planning each costs microseconds. Set here, it costs no round trip per request.
SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite files get WAL, foreign keys and a busy timeout."""
    # A failed statement's error (and so its log line) must not carry the values bound to it:
    # they are suppliers' phones, e-mails and names.
    kwargs.setdefault("hide_parameters", True)
    # JSON columns parsed by pydantic-core (Rust), not the json module: on a page of directory
    # entries, decoding their JSON columns was the largest single cost after the query itself.
    kwargs.setdefault("json_deserializer", from_json)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("poolclass", pool.NullPool if database == ":memory:" else None)
        if kwargs["poolclass"] is None:
            del kwargs["poolclass"]
        # JSON columns stored as the compact UTF-8 text the bus carries (as PostgreSQL stores
        # text without escapes), so the relay sends an outbox row's text as it is.
        kwargs.setdefault("json_serializer", _compact_json)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_MAX_OVERFLOW)
    # Connections older than this are replaced at checkout (no round trip): an idle timeout or a
    # failover in between costs a reconnect, never a failed request.
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    # Session settings go with the connection's start-up packet, not a ``SET`` per request.
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("server_settings", dict(SERVER_SETTINGS))
    # Not SQLAlchemy's pre-ping, a round trip at every checkout (one in six of a unit of work's):
    # a connection is pinged only when it sat idle in the pool for ``ping_idle_after`` seconds,
    # which is when a restart or an idle timeout may have closed it; a busy pool's connections
    # were in use milliseconds ago. A connection lost while in use fails that one transaction,
    # and SQLAlchemy then recycles every connection of the pool opened before the loss.
    ping_idle_after = kwargs.pop("ping_idle_after", 1.0)
    engine = create_async_engine(url, **kwargs)
    _connect_args[engine.sync_engine] = dict(connect_args)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_idle_after)
    if engine.dialect.driver == "asyncpg":
        _json_as_text(engine, kwargs["json_deserializer"])
    return engine


_JSON_KINDS = ("json", "jsonb")


def _json_as_text(engine: AsyncEngine, deserializer: Any) -> None:
    """JSON and JSONB columns exchanged with asyncpg as text, parsed by ``deserializer`` called
    from asyncpg's C code. SQLAlchemy's own codecs (binary format) run a Python function per
    value that slices and decodes the bytes first: on a page of directory entries (five JSON
    columns a row) that was the largest cost after the query itself (issue 13). The values are
    the same: a JSONB value's text is its binary form without the version byte, and the text
    bound for a parameter is SQLAlchemy's serialised JSON, as before. Binary ``COPY`` needs
    binary codecs: run it inside ``binary_json(driver)``."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        await_(_set_json_codecs(dbapi_connection.driver_connection, deserializer))

    # After the dialect's own listener, which sets its binary codecs on each new connection.
    event.listen(engine.sync_engine, "connect", on_connect)


async def _set_json_codecs(driver: Any, deserializer: Any) -> None:
    for kind in _JSON_KINDS:
        await driver.set_type_codec(
            kind, encoder=str, decoder=deserializer, schema="pg_catalog", format="text"
        )


def _binary_json_encoder(kind: str) -> Any:
    version = b"\x01" if kind == "jsonb" else b""  # JSONB's binary form: a version byte first
    return lambda text: version + text.encode()


def _binary_json_decoder(kind: str) -> Any:
    skip = 1 if kind == "jsonb" else 0
    return lambda data: from_json(data[skip:])


@asynccontextmanager
async def binary_json(driver: Any) -> AsyncIterator[None]:
    """JSON and JSONB in binary format on the asyncpg connection ``driver`` meanwhile (what
    ``copy_records_to_table`` needs, JSON values given as serialised text); text again after."""
    for kind in _JSON_KINDS:
        await driver.set_type_codec(
            kind,
            encoder=_binary_json_encoder(kind),
            decoder=_binary_json_decoder(kind),
            schema="pg_catalog",
            format="binary",
        )
    try:
        yield
    finally:
        await _set_json_codecs(driver, from_json)


def _ping_when_idle(engine: AsyncEngine, idle_after: float) -> None:
    dialect = engine.sync_engine.dialect

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get("checked_in")
        if checked_in is None or time.monotonic() - checked_in < idle_after:
            return  # new (just connected) or in use moments ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool replaces the connection and checks out again
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error

    event.listen(engine.sync_engine, "checkin", checkin)
    event.listen(engine.sync_engine, "checkout", checkout)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


# What a read-only query may run on: a request's Core connection (``deps.ConnectionDep``, rows of
# columns) or a session (ORM objects for entity selects); both ``execute`` alike.
Queryable = AsyncConnection | AsyncSession


def create_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine of read-only requests, sharing ``engine``'s pool: on PostgreSQL without
    ``BEGIN``/``ROLLBACK`` (autocommit), so a one-query read is one round trip; an
    ``INSERT``/``UPDATE``/``DELETE`` sent through it is refused before it reaches the database.

    At PostgreSQL's READ COMMITTED every statement takes its own snapshot anyway, so statements
    outside a transaction see exactly what they would see inside one; what a read gives up is
    only ``SET LOCAL`` and transaction-scoped locks, which a read has no use for. Without a
    transaction a write would commit at once, hence the refusal (of SQLAlchemy's DML
    constructs; a ``text()`` statement is the caller's word). SQLite keeps its transaction
    (its reads cost no round trip, and WAL readers need one for a stable view).
    """
    options = {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {}
    read = engine.execution_options(**options)
    # On this engine only: the writers' engine, sharing the pool, is not slowed by it.
    event.listen(read.sync_engine, "before_execute", _refuse_writes)
    return read


def _refuse_writes(_connection: Any, statement: Any, *_: Any) -> None:
    if getattr(statement, "is_dml", False):
        raise RuntimeError("a read-only connection: write through a unit of work")


class ReadPool(Protocol):
    """An asyncpg pool (``create_read_pool``): what ``ReadConnection`` needs of it."""

    async def acquire(self) -> Any: ...

    async def release(self, connection: Any) -> None: ...

    async def close(self) -> None: ...

    def terminate(self) -> None: ...


# On top of the engine's: the database itself refuses a write sent on a read pool's connection
# (``ReadConnection`` sends only ``SELECT``s; a volatile function inside one would still fail).
READ_POOL_SETTINGS = {"default_transaction_read_only": "on"}
READ_POOL_CLOSE_TIMEOUT = 10.0  # seconds to wait for reads in flight at shutdown
# SQLAlchemy's own arguments of its asyncpg adapter, not asyncpg's.
_ADAPTER_ARGUMENTS = ("prepared_statement_cache_size", "prepared_statement_name_func")
_connect_args: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


async def create_read_pool(engine: AsyncEngine) -> ReadPool | None:
    """An asyncpg pool for ``ReadConnection``s of ``engine`` (made by ``create_engine``), with
    the connect settings of its connections (server, ``server_settings`` such as
    ``plan_cache_mode``, JSON codecs) plus ``READ_POOL_SETTINGS``, and its pool's size limits;
    ``None`` where reads keep SQLAlchemy's pool (SQLite, another driver, a custom creator, an
    engine whose cursor executions are listened to, as telemetry's instrumentation does: its
    reads all go through SQLAlchemy, so a connection of the read pool would sit unused).

    Connections are opened on demand and handed back without asyncpg's reset (``RESET ALL``
    and more, a round trip per request): a read connection runs only ``SELECT``s outside a
    transaction, so it leaves no session state behind. Close it with ``close_read_pool``."""
    sync_engine = engine.sync_engine
    # A read engine (``create_read_engine``) proxies the engine ``create_engine`` made.
    connect_args = _connect_args.get(getattr(sync_engine, "_proxied", sync_engine))
    sizes = sync_engine.pool
    if (
        engine.dialect.driver != "asyncpg"
        or connect_args is None
        or "async_creator_fn" in connect_args
        or not isinstance(sizes, pool.QueuePool)
        or sizes.size() < 1
        or sync_engine.dispatch.before_cursor_execute
        or sync_engine.dispatch.after_cursor_execute
    ):
        return None
    import asyncpg  # type: ignore[import-untyped]

    _, params = engine.dialect.create_connect_args(engine.url)
    params.update(connect_args)
    for name in _ADAPTER_ARGUMENTS:
        params.pop(name, None)
    params["server_settings"] = {**params.get("server_settings", {}), **READ_POOL_SETTINGS}
    dialect: Any = engine.dialect
    deserializer = dialect._json_deserializer or from_json

    async def init(driver: Any) -> None:
        await _set_json_codecs(driver, deserializer)
        if dialect._native_inet_types is False:
            await dialect._disable_asyncpg_inet_codecs(_Adapted(driver))

    read_pool: ReadPool = await asyncpg.create_pool(
        min_size=0,
        max_size=sizes.size() + max(sizes._max_overflow, 0),
        init=init,
        reset=_keep_session,
        **params,
    )
    return read_pool


@dataclass(frozen=True, slots=True)
class _Adapted:
    _connection: Any  # what the dialect's codec helpers read from an adapted connection


async def _keep_session(_driver: Any) -> None:
    """No reset on release (see ``create_read_pool``)."""


async def close_read_pool(read_pool: ReadPool) -> None:
    """Close ``read_pool`` once its reads in flight are done (terminated after a timeout)."""
    try:
        await asyncio.wait_for(read_pool.close(), READ_POOL_CLOSE_TIMEOUT)
    except TimeoutError:
        read_pool.terminate()


class ReadConnection(AsyncConnection):
    """A read-only request's Core connection (``deps.ConnectionDep``) that runs a ``SELECT`` on
    the driver's connection itself when it can, skipping SQLAlchemy's execution layer.

    SQLAlchemy executes a statement in a greenlet, through an execution context, a DB-API cursor
    adapted over asyncpg and a cursor result; on a directory search that machinery cost as much
    CPU as the query's own round trip (issue 13). Here, on asyncpg and outside a transaction
    (the read engine is in autocommit), a ``SELECT`` is compiled by SQLAlchemy once per shape
    (its cache key and parameter names; a statement object met again is known by identity and
    not even keyed), its parameters are bound as SQLAlchemy binds them (its bind processors,
    expanding ``IN`` lists included), and the SQL is run by ``asyncpg.Connection.fetch``
    (asyncpg's own prepared-statement cache); the records become SQLAlchemy ``Row`` objects
    through the column types' result processors, in a buffered ``Result`` with the usual API
    (``all``, ``scalars``, ``first``, ``mappings``…).

    Given a ``ReadPool`` (``create_read_pool``, what a service's runtime holds on PostgreSQL),
    the driver's connection comes from that asyncpg pool: no SQLAlchemy ``Connection`` and pool
    checkout, each two greenlet hops (checkout and close were a tenth of a search's CPU). A
    statement the driver may not run then checks a connection out of SQLAlchemy's pool, on
    first need. Without one, the driver's connection is the one SQLAlchemy checked out.

    Anything else goes through SQLAlchemy unchanged: other statements (a write is refused on
    the read engine), SQLite, a connection in a transaction, execution options, several
    parameter sets, engines with cursor-execute listeners (OpenTelemetry's SQLAlchemy
    instrumentation, which then sees every query). A statement that fails on the driver is run
    once more through SQLAlchemy, so errors surface as SQLAlchemy's (a read repeats safely).
    A pooled read connection has no transactions (``begin``): reads need none.
    """

    __slots__ = ("_driver", "_read_pool")

    def __init__(self, engine: AsyncEngine, pool: ReadPool | None = None) -> None:
        super().__init__(engine)
        self._read_pool = pool
        self._driver: Any = None

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        """Check a driver connection out of the read pool, or SQLAlchemy's without one."""
        if self._read_pool is None:
            return await super().start(is_ctxmanager)
        if self._driver is not None:
            raise exc.InvalidRequestError("connection is already started")
        self._driver = await self._read_pool.acquire()
        return self

    async def close(self) -> None:
        """Return the driver connection to the read pool, and SQLAlchemy's if one was needed."""
        driver, self._driver = self._driver, None
        try:
            if self._read_pool is None or self.sync_connection is not None:
                await super().close()
        finally:
            if driver is not None:
                await self._read_pool.release(driver)  # type: ignore[union-attr]

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        # SQLAlchemy closes in a task of its own, shielded from cancellation (a task created per
        # request); asyncpg's pool shields its release itself, so only a SQLAlchemy connection,
        # if one was needed, needs SQLAlchemy's way.
        if self._read_pool is None or self.sync_connection is not None:
            await super().__aexit__(type_, value, traceback)
        else:
            await self.close()

    async def _through_sqlalchemy(self) -> None:
        if self._read_pool is not None and self.sync_connection is None:
            self.sync_connection = self._assign_proxied(
                await greenlet_spawn(self.sync_engine.connect)
            )

    def _driver_for(self, statement: Executable) -> Any:
        """The driver connection to run ``statement`` on (the read pool's, else the one
        SQLAlchemy checked out), or ``None`` when it must go through SQLAlchemy."""
        if self._read_pool is not None:
            return self._pooled_driver(statement)
        return self._driver_connection(statement)

    async def execute(  # type: ignore[override]
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> Result[Any]:
        if execution_options is None and (parameters is None or isinstance(parameters, dict)):
            driver = self._driver_for(statement)
            if driver is not None:
                result = await _fetch(self, driver, statement, parameters or {})
                if result is not None:
                    return result
        await self._through_sqlalchemy()
        return await super().execute(statement, parameters, execution_options=execution_options)

    async def mappings(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> Sequence[Mapping[Any, Any]]:
        """``execute(statement, parameters).mappings().all()``, without building ``Row``s where
        the driver ran it and its columns need no conversion: asyncpg's records themselves
        (read by key in C; they are not ``Row``s, nor ``dict``s)."""
        driver = self._driver_for(statement)
        if driver is not None:
            fetched = await _fetch_records(self, driver, statement, parameters or {})
            if fetched is not None:
                shape, records = fetched
                if shape.plain is not False:
                    return records
                assert shape.metadata is not None
                return IteratorResult(shape.metadata, iter(records)).mappings().all()
        return (await self.execute(statement, parameters)).mappings().all()

    async def exec_driver_sql(self, *args: Any, **kwargs: Any) -> Any:
        await self._through_sqlalchemy()
        return await super().exec_driver_sql(*args, **kwargs)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        await self._through_sqlalchemy()
        return await super().stream(*args, **kwargs)

    async def run_sync(self, *args: Any, **kwargs: Any) -> Any:
        await self._through_sqlalchemy()
        return await super().run_sync(*args, **kwargs)

    def _pooled_driver(self, statement: Executable) -> Any:
        """The read pool's connection, if it may run ``statement``."""
        if not isinstance(statement, Select) or statement._execution_options:
            return None
        dispatch = self.sync_engine.dispatch
        if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
            return None
        # No transaction to stay in: a read engine's SQLAlchemy connection is in autocommit.
        return self._driver

    def _driver_connection(self, statement: Executable) -> Any:
        """The asyncpg connection to run ``statement`` on directly, if it may be."""
        if not isinstance(statement, Select) or statement._execution_options:
            return None
        connection = self.sync_connection
        if connection is None or connection.closed or connection.invalidated:
            return None
        if self.dialect.driver != "asyncpg" or connection.in_transaction():
            return None
        dispatch = self.sync_engine.dispatch
        if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
            return None
        adapted = connection.connection.dbapi_connection
        if adapted is None or not getattr(adapted, "autocommit", False):
            return None
        return adapted.driver_connection


async def fetch_mappings(
    queryable: Queryable, statement: Executable, parameters: dict[str, Any] | None = None
) -> Sequence[Mapping[Any, Any]]:
    """``statement``'s rows as mappings of their columns, on any connection or session: on a
    request's ``ReadConnection``, the driver's records where nothing converts (its
    ``mappings``); elsewhere SQLAlchemy's ``RowMapping``s. For list routes that render rows
    straight to JSON (``schemas.plain_rows``)."""
    if isinstance(queryable, ReadConnection):
        return await queryable.mappings(statement, parameters)
    rows: Sequence[Mapping[Any, Any]] = (
        (await queryable.execute(statement, parameters)).mappings().all()
    )
    return rows


@dataclass(slots=True)
class _Shape:
    """A compiled ``SELECT`` and what turns its records into rows (known after its first run)."""

    compiled: Any  # SQLCompiler
    metadata: SimpleResultMetaData | None = None
    unsupported: bool = False
    # Whether its records are already what its rows' mappings hold: no column needs a result
    # processor, and the records' keys are the rows' keys (known once a run returned a record).
    plain: bool | None = None
    # Whether its rendering can be kept and replayed (``_rendered``), its expanding parameters'
    # names, and its renderings by their lists' lengths.
    replayable: bool | None = None
    expanding: tuple[str, ...] = ()
    renderings: dict[tuple[int, ...], _Rendering] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Known:
    """A statement object met before: its shape and the values its cache key extracted."""

    statement: Executable
    names: tuple[str, ...]  # of the parameters given with it
    shape: _Shape
    extracted: Any
    collected: Any


class _DriverCache:
    """Per engine: compiled shapes by cache key, and statement objects by identity."""

    SIZE = 500

    def __init__(self) -> None:
        self.shapes: dict[Any, _Shape] = {}
        self.known: dict[int, _Known] = {}


def _driver_cache(connection: AsyncConnection) -> _DriverCache:
    engine = connection.sync_engine
    cache: _DriverCache | None = engine.__dict__.get("_shulian_driver_cache")
    if cache is None:
        cache = engine.__dict__["_shulian_driver_cache"] = _DriverCache()
    return cache


def _known(
    connection: AsyncConnection, statement: Select[Any], names: tuple[str, ...]
) -> _Known | None:
    cache = _driver_cache(connection)
    known = cache.known.get(id(statement))
    if known is not None and known.statement is statement and known.names == names:
        return known
    cache_key = statement._generate_cache_key()
    if cache_key is None:
        return None
    key = (cache_key[0], names)
    shape = cache.shapes.get(key)
    if shape is None:
        if len(cache.shapes) >= cache.SIZE:
            cache.shapes.clear()
        compiled = statement._compiler(
            connection.sync_engine.dialect, cache_key=cache_key, column_keys=list(names)
        )
        shape = cache.shapes[key] = _Shape(compiled)
    if len(cache.known) >= cache.SIZE:
        cache.known.clear()
    known = cache.known[id(statement)] = _Known(statement, names, shape, cache_key[1], cache_key[2])
    return known


async def _fetch(
    connection: AsyncConnection, driver: Any, statement: Any, parameters: dict[str, Any]
) -> Result[Any] | None:
    """``statement`` run on ``driver`` (asyncpg), or ``None`` where SQLAlchemy must run it."""
    fetched = await _fetch_records(connection, driver, statement, parameters)
    if fetched is None:
        return None
    shape, records = fetched
    assert shape.metadata is not None
    return IteratorResult(shape.metadata, iter(records))


async def _fetch_records(
    connection: AsyncConnection, driver: Any, statement: Any, parameters: dict[str, Any]
) -> tuple[_Shape, list[Any]] | None:
    """``statement``'s shape and asyncpg records, or ``None`` where SQLAlchemy must run it."""
    known = _known(connection, statement, tuple(sorted(parameters)))
    if known is None or known.shape.unsupported:
        return None
    shape = known.shape
    compiled = shape.compiled
    values = compiled.construct_params(
        parameters or None,
        extracted_parameters=known.extracted,
        escape_names=False,
        _collected_params=known.collected,
    )
    sql, arguments = _rendered(shape, values)
    try:
        if (
            shape.metadata is None
            and await _result_metadata(connection, driver, shape, sql) is None
        ):
            return None
        records = await driver.fetch(sql, *arguments)
    except Exception:  # SQLAlchemy runs it again, and reports its own error
        return None
    if shape.plain is None and records:
        metadata = shape.metadata
        assert metadata is not None
        shape.plain = not metadata._processors and tuple(records[0].keys()) == tuple(metadata.keys)
    return shape, records


def _rendered(shape: _Shape, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """The SQL and positional arguments of the shape's statement for these ``values``.

    SQLAlchemy renders a statement with expanding parameters (``IN`` lists) per execution
    (``_process_parameters_for_postcompile``, ~7 % of a filtered list request's CPU, issue 13);
    that rendering depends only on each list's length, so it is kept per lengths and replayed
    with each run's values. Literal-execute parameters (their values in the SQL), tuple ``IN``s
    and escaped names are rendered by SQLAlchemy every time."""
    compiled = shape.compiled
    if shape.replayable is None:
        params = compiled.post_compile_params
        shape.replayable = (
            not compiled.literal_execute_params
            and not compiled.escaped_bind_names
            and all(p.expanding and not p.type._is_tuple_type for p in params)
        )
        if shape.replayable:
            shape.expanding = tuple(sorted(compiled.bind_names[p] for p in params))
    lengths = None
    if shape.replayable:
        try:
            lengths = tuple(len(values[name]) for name in shape.expanding)
        except TypeError:  # not a sized list: SQLAlchemy says what it makes of it
            lengths = None
    if lengths is None:
        rendering = _Rendering.of(compiled, values, replayable=False)
    elif (kept := shape.renderings.get(lengths)) is not None:
        rendering = kept
    else:
        if len(shape.renderings) >= 64:  # lists of many lengths: keep the newest
            shape.renderings.clear()
        rendering = shape.renderings[lengths] = _Rendering.of(compiled, values)
    return rendering.sql, rendering.arguments(values)


@dataclass(frozen=True, slots=True)
class _Rendering:
    """A statement's SQL for its lists' lengths, and per positional argument the parameter it
    is read from (with the index in its list, -1 for a single value) and its bind processor."""

    sql: str
    positions: tuple[tuple[str, int, Any], ...]

    @classmethod
    def of(cls, compiled: Any, values: dict[str, Any], *, replayable: bool = True) -> _Rendering:
        """``compiled`` rendered for ``values``. Replayable: each list's elements are read from
        the list, so the rendering serves any values of the same lengths; otherwise from the
        names SQLAlchemy adds to ``values`` as it renders (good for this run only)."""
        processors = compiled._bind_processors
        if not (compiled.literal_execute_params or compiled.post_compile_params):
            sql, order, sources = compiled.string, compiled.positiontup, {}
        else:
            expanded = compiled._process_parameters_for_postcompile(
                dict(values) if replayable else values
            )
            processors = {**processors, **expanded.processors}
            sql, order = expanded.statement, expanded.positiontup
            sources = {
                new: (name, index)
                for name, news in (expanded.parameter_expansion.items() if replayable else ())
                for index, new in enumerate(news)
            }
        return cls(sql, tuple((*sources.get(n, (n, -1)), processors.get(n)) for n in order))

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        """The positional arguments for ``values``, each through its bind processor."""
        arguments = []
        for name, index, process in self.positions:
            value = values[name] if index < 0 else values[name][index]
            arguments.append(value if process is None else process(value))
        return arguments


async def _result_metadata(
    connection: AsyncConnection, driver: Any, shape: _Shape, sql: str
) -> SimpleResultMetaData | None:
    """The shape's row metadata: its columns' keys and objects, and each column type's result
    processor. Most types' processors do not depend on the type PostgreSQL reports; for those
    that do (numerics) the statement is described once (a round trip once per shape), as
    SQLAlchemy's cursor description would give it."""
    compiled = shape.compiled
    columns = compiled._result_columns
    if (
        not compiled._ordered_columns
        or compiled._textual_ordered_columns
        or compiled._ad_hoc_textual
        or not columns
    ):
        shape.unsupported = True
        return None
    dialect = connection.sync_engine.dialect
    try:
        processors = [column.type._cached_result_processor(dialect, None) for column in columns]
    except (TypeError, exc.InvalidRequestError):  # the reported type decides: ask for it
        attributes = (await driver.prepare(sql)).get_attributes()
        if len(attributes) != len(columns):
            shape.unsupported = True
            return None
        processors = [
            column.type._cached_result_processor(dialect, attribute.type.oid)
            for column, attribute in zip(columns, attributes, strict=True)
        ]
    shape.metadata = SimpleResultMetaData(
        [column.keyname for column in columns],
        extra=[column.objects for column in columns],
        _processors=processors if any(processors) else None,
    )
    return shape.metadata


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """ORM sessions for reads only, on a ``create_read_engine`` of ``engine``."""
    return async_sessionmaker(create_read_engine(engine), expire_on_commit=False)


_LOCK = 0x5348_554C_4D49  # "SHULMI": the migration lock, one per database


def alembic_config(script_location: Path, url: str) -> Any:
    """An Alembic ``Config`` for the scripts in ``script_location`` on the database at ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(engine: AsyncEngine, script_location: Path, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` with the Alembic scripts given."""
    from alembic import command

    config = alembic_config(script_location, engine.url.render_as_string(hide_password=False))

    def _upgrade(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together migrate one at a time; the others then find it done.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        await connection.run_sync(_upgrade)


def migration_metadata(metadata: MetaData) -> MetaData:
    """A service's tables and the kit's (outbox, inbox, ...): everything its migrations create."""
    # The kit's tables come from a migration helper, not from the service's ORM: without them
    # here, autogenerate would propose dropping them. Imported late: messaging builds on db.
    from shulian_common import messaging

    combined = MetaData(naming_convention=metadata.naming_convention)
    for source in (metadata, messaging.metadata):
        for table in source.tables.values():
            if table.key not in combined.tables:
                table.to_metadata(combined)
    return combined


# How autogenerate compares a database with the code, in ``env.py`` and in the drift test alike.
def _not_partner_table(name: str | None, type_: str, _parent: Any) -> bool:
    # The partner tables are opt-in (``create_partner_tables``): neither proposed nor dropped
    # here; ``messaging.partner_tables_drift`` checks the databases that have them.
    from shulian_common.messaging import PARTNER_TABLES

    return type_ != "table" or name not in PARTNER_TABLES


AUTOGENERATE_OPTIONS: dict[str, Any] = {"compare_type": True, "include_name": _not_partner_table}


def run_migrations_from_env(target_metadata: MetaData) -> None:
    """Body of every service's Alembic ``env.py``: online, async, batch mode on SQLite."""
    from alembic import context

    target = migration_metadata(target_metadata)

    def _configure_and_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target,
            render_as_batch=connection.dialect.name == "sqlite",
            **AUTOGENERATE_OPTIONS,
        )
        with context.begin_transaction():
            context.run_migrations()

    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return

    async def _run() -> None:
        engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run)
        await engine.dispose()

    asyncio.run(_run())
