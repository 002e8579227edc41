"""The init step of every pod: ``shulian migrate <service>`` brings its database to the head."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shulian_common.cli import main
from shulian_common.service import installed_services
from shulian_common.settings import Settings


def _state(url: str) -> tuple[set[str], set[str]]:
    """The database's Alembic revisions and its tables."""

    def read(connection: Connection) -> tuple[set[str], set[str]]:
        revisions = set(MigrationContext.configure(connection).get_current_heads())
        return revisions, set(inspect(connection).get_table_names())

    async def run() -> tuple[set[str], set[str]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _heads(service: str) -> set[str]:
    migrations: Path = installed_services()[service].create_app(Settings()).state.migrations
    return set(ScriptDirectory(str(migrations)).get_heads())


@pytest.mark.parametrize("service", sorted(installed_services()))
def test_migrate_upgrades_a_new_database_to_the_head_and_then_changes_nothing(
    service: str,
    database_factory: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = database_factory()
    monkeypatch.setenv("SHULIAN_DATABASE_URL", url)
    assert _state(url) == (set(), set())

    assert main(["migrate", service]) == 0
    revisions, tables = _state(url)
    assert revisions == _heads(service)
    assert {"outbox", "inbox", "alembic_version"} <= tables

    assert main(["migrate", service]) == 0  # the app's own check at start: a no-op
    assert _state(url) == (revisions, tables)
    assert capsys.readouterr().out.count(f"{service}: database at the latest migration") == 2


def test_migrate_refuses_an_unknown_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "payroll"]) == 2
    assert "unknown service 'payroll'" in capsys.readouterr().err
