"""Fixtures: the calendar app on fresh databases (SQLite and PostgreSQL), through its API; any
number of nodes on one local bus, each with a database of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from shulian_events.testing import Events, NodeFactory, events_settings_for, running

YIBIN = "511500"


@pytest.fixture
async def yibin(database_url: str, tmp_path: Path) -> AsyncIterator[Events]:
    """The Yibin node (511500)."""
    async with running(events_settings_for(database_url, tmp_path, YIBIN)) as node:
        yield node


@pytest.fixture
def start_node(database_factory: Callable[[], str], tmp_path: Path) -> NodeFactory:
    """Start the calendar as another node (e.g. Chengdu 510100) with a database of its own, on
    the local bus the test's nodes share."""

    def start(node: str) -> AbstractAsyncContextManager[Events]:
        return running(events_settings_for(database_factory(), tmp_path, node))

    return start
