"""Fixtures: reporting on a fresh database (SQLite and PostgreSQL), fed registry events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shulian_reporting.testing import Reporting, reporting_settings_for, running


@pytest.fixture
async def reporting(database_url: str, tmp_path: Path) -> AsyncIterator[Reporting]:
    """The province node (510000)."""
    async with running(reporting_settings_for(database_url, tmp_path)) as node:
        yield node
