"""Pytest plugin: a fresh PostgreSQL database per test, and ``database_url`` over both backends.

The server comes from ``SHULIAN_TEST_DATABASE_URL`` (e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``), else from a testcontainers PostgreSQL when a
Docker engine answers; otherwise the PostgreSQL tests skip, or fail when
``SHULIAN_REQUIRE_BACKENDS=1`` (CI), where they must run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

ENV_URL = "SHULIAN_TEST_DATABASE_URL"
ENV_REQUIRE = "SHULIAN_REQUIRE_BACKENDS"
POSTGRES_IMAGE = "postgres:16-alpine"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``postgres`` marker for projects that use this plugin."""
    config.addinivalue_line("markers", "postgres: needs PostgreSQL")


def backends_required() -> bool:
    """Whether a missing backend fails the tests instead of skipping them (CI)."""
    return os.environ.get(ENV_REQUIRE, "") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the test for a missing backend, or fail it when backends are required."""
    if backends_required():
        pytest.fail(f"{reason} ({ENV_REQUIRE}=1)")
    pytest.skip(reason)


async def _execute(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _run(coro: Coroutine[Any, Any, None]) -> None:
    # A thread of its own: the fixture must work whether or not the test's loop is running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:  # no SDK, no socket, no daemon: all mean "no Docker here"
        return False
    return True


def _start_container() -> Any:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError:
            return None
    if not _docker_answers():
        return None
    container = PostgresContainer(POSTGRES_IMAGE, driver="asyncpg")
    container.start()
    return container


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server to create test databases on (env, else a container)."""
    url = os.environ.get(ENV_URL)
    if url:
        yield url
        return
    container = _start_container()
    if container is None:
        unavailable(f"PostgreSQL unavailable: set {ENV_URL} or run a Docker engine")
    try:
        yield str(container.get_connection_url())
    finally:
        container.stop()


def _create_database(server_url: str) -> str:
    """A new, empty database on the server at ``server_url``; its URL."""
    name = f"shulian_t_{uuid.uuid4().hex}"
    server = make_url(server_url)
    try:
        _run(_execute(server_url, f'CREATE DATABASE "{name}"'))
        # A test database need not wait for its commits to reach the disk: the tests crash
        # processes, never the server, and every commit is still atomic and visible at once.
        # Waiting on WAL flushes made a run on two cores mostly I/O wait.
        _run(_execute(server_url, f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    except (OSError, SQLAlchemyError) as exc:
        shown = server.render_as_string(hide_password=True)
        unavailable(f"cannot create a test database on {shown}: {exc}")
    return server.set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    _run(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped after it."""
    # Made in setup, not ahead on a thread: a CREATE DATABASE beside a running test slows it more
    # (WAL and fsync contention) than it saves.
    url = _create_database(postgres_server_url)
    try:
        yield url
    finally:
        _drop_database(postgres_server_url, url)


def sqlite_url(directory: Path) -> str:
    """The URL of a SQLite database file in ``directory``."""
    return f"sqlite+aiosqlite:///{directory / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, then a fresh PostgreSQL database, so tests run on both."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def database_factory(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Make more empty databases on the backend of ``database_url`` (one per node of a network
    test); each is dropped at teardown."""
    made: list[str] = []
    postgres = make_url(database_url).get_backend_name() != "sqlite"
    server: str = request.getfixturevalue("postgres_server_url") if postgres else ""

    def make() -> str:
        if postgres:
            url = _create_database(server)
        else:
            directory = tmp_path / f"db{len(made)}"
            directory.mkdir()
            url = sqlite_url(directory)
        made.append(url)
        return url

    try:
        yield make
    finally:
        if postgres:
            for url in made:
                _drop_database(server, url)


@pytest.fixture
def more_database_urls(database_factory: Callable[[], str]) -> Callable[[str], str]:
    """Further empty databases on the backend of ``database_url``, one per node name of a
    multi-node test (``database_factory`` keyed by a name that documents the call site)."""

    def make(name: str) -> str:  # noqa: ARG001 - the name reads well where nodes are started
        return database_factory()

    return make


@pytest.fixture
def other_database_url(database_factory: Callable[[], str]) -> str:
    """A second empty database on the backend of ``database_url`` (e.g. for a second node)."""
    return database_factory()


@pytest.fixture
def third_database_url(database_factory: Callable[[], str]) -> str:
    """A third empty database on the backend of ``database_url`` (e.g. for a third node)."""
    return database_factory()
