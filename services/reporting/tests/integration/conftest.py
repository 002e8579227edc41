"""Fixtures: reporting on a fresh database (SQLite and PostgreSQL), fed registry events; more
nodes on the same local log, each with a database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from shulian_reporting.testing import Reporting, reporting_settings_for, running


@pytest.fixture
async def reporting(database_url: str, tmp_path: Path) -> AsyncIterator[Reporting]:
    """The province node (510000)."""
    async with running(reporting_settings_for(database_url, tmp_path)) as node:
        yield node


NodeFactory = Callable[[str], AbstractAsyncContextManager[Reporting]]


@pytest.fixture
def start_node(database_factory: Callable[[], str], tmp_path: Path) -> NodeFactory:
    """Start reporting as another node (e.g. Yibin 511500) with a database of its own, on the
    local log the test's nodes share."""

    def start(node: str) -> AbstractAsyncContextManager[Reporting]:
        return running(reporting_settings_for(database_factory(), tmp_path, node))

    return start
