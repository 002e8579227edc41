"""Fixtures: the registry app on a fresh database (SQLite and PostgreSQL), through its API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shulian_common.db import is_sqlite
from shulian_common.reference import PROVINCE_CODE
from shulian_common.testing.postgres import sqlite_url
from shulian_registry.testing import NodeFactory, Registry, registry_settings_for, running


@pytest.fixture
async def registry(database_url: str, tmp_path: Path) -> AsyncIterator[Registry]:
    """The province node (510000)."""
    async with running(registry_settings_for(database_url, tmp_path, PROVINCE_CODE)) as node:
        yield node


@pytest.fixture
def node_registry(database_url: str, tmp_path: Path) -> NodeFactory:
    """Start the registry as another node (e.g. Chengdu 510100) on the test database."""

    def start(node: str) -> AbstractAsyncContextManager[Registry]:
        return running(registry_settings_for(database_url, tmp_path, node))

    return start


@pytest.fixture
async def other_database_url(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A second empty database on the backend of ``database_url``, for a second node."""
    if is_sqlite(database_url):
        directory = tmp_path / "other"
        directory.mkdir()
        yield sqlite_url(directory)
        return
    server: str = request.getfixturevalue("postgres_server_url")
    name = f"shulian_t_{uuid.uuid4().hex}"
    await _on_server(server, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        await _on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _on_server(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()
