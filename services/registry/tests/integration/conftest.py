"""Fixtures: the registry app on a fresh database (SQLite and PostgreSQL), through its API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from shulian_common.reference import PROVINCE_CODE
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
