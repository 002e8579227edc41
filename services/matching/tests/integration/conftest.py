"""Fixtures: matching nodes on fresh databases (SQLite and PostgreSQL), one bus per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from shulian_matching.testing import YIBIN, Matching, NodeStarter, matching_settings_for, running


@pytest.fixture
def start_node(more_database_urls: Callable[[str], str], tmp_path: Path) -> NodeStarter:
    """Start matching as a node (e.g. Yibin 511500), each node on a database of its own."""

    def start(node: str, **overrides: Any) -> AbstractAsyncContextManager[Matching]:
        url = more_database_urls(node)
        return running(matching_settings_for(url, tmp_path, node, **overrides))

    return start


@pytest.fixture
async def yibin(start_node: NodeStarter) -> AsyncIterator[Matching]:
    """The Yibin node (511500)."""
    async with start_node(YIBIN) as node:
        yield node
