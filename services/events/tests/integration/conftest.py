"""Fixtures: the calendar app on fresh databases (SQLite and PostgreSQL), through its API; any
number of nodes on one bus, each with a database of its own.

The bus is the local log, unless a module (``pytestmark``) or a test opts in to both buses with
the ``both_buses`` marker: its tests then run on the local log and again over Kafka (the session's
broker, with topics and consumer groups of each test's own), marked ``kafka``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from shulian_events.testing import Events, NodeFactory, events_settings_for, running

YIBIN = "511500"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``both_buses`` marker."""
    config.addinivalue_line("markers", "both_buses: run over the local log and over Kafka")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise the ``bus`` of tests marked ``both_buses``: ``local``, then ``kafka``."""
    if "bus" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_buses"):
        buses = ["local", pytest.param("kafka", marks=pytest.mark.kafka)]
        metafunc.parametrize("bus", buses, indirect=True)


@pytest.fixture
def bus(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings of the test's bus: none for the local log of ``tmp_path`` (the default), the
    session's Kafka-protocol broker for the ``kafka`` variant of tests marked ``both_buses``."""
    if getattr(request, "param", "local") == "local":
        return {}
    broker = request.getfixturevalue("kafka_broker")
    return {
        "bus_url": request.getfixturevalue("kafka_bus_url"),
        "kafka_enable_idempotence": broker.idempotence,
    }


@pytest.fixture
async def yibin(database_url: str, tmp_path: Path, bus: dict[str, Any]) -> AsyncIterator[Events]:
    """The Yibin node (511500)."""
    async with running(events_settings_for(database_url, tmp_path, YIBIN, **bus)) as node:
        yield node


@pytest.fixture
def start_node(
    database_factory: Callable[[], str], tmp_path: Path, bus: dict[str, Any]
) -> NodeFactory:
    """Start the calendar as another node (e.g. Chengdu 510100) with a database of its own, on
    the bus the test's nodes share."""

    def start(node: str) -> AbstractAsyncContextManager[Events]:
        return running(events_settings_for(database_factory(), tmp_path, node, **bus))

    return start
