"""Fixtures: matching nodes on fresh databases (SQLite and PostgreSQL), one bus per test.

A module opts in to running its tests over both buses with the ``both_buses`` marker
(``pytestmark = pytest.mark.both_buses``): each of its tests then runs over the local log and over
Kafka (the session's broker, with topics and consumer groups of the test's own, so no test sees
another's records, offsets or groups); the Kafka variants carry the ``kafka`` marker. Other
modules run over the local log only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from shulian_common.testing.kafka import KafkaBroker
from shulian_matching.testing import YIBIN, Matching, NodeStarter, matching_settings_for, running

BUSES = ("local", pytest.param("kafka", marks=pytest.mark.kafka))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_buses: run each test of the module over the local log and over Kafka"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_buses`` run once per bus (``bus`` is in every node fixture's closure)."""
    if metafunc.definition.get_closest_marker("both_buses") and "bus" in metafunc.fixturenames:
        metafunc.parametrize("bus", BUSES, indirect=True)


@pytest.fixture
def bus(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings overrides naming the test's bus: none for the local log of ``tmp_path``; for
    Kafka, the session's broker through the kit's ``kafka_bus_url`` (topics and consumer groups
    under a prefix of this test's own, so no test sees another's records, offsets or groups, and
    the short group timings of ``kafka_bus``)."""
    if getattr(request, "param", "local") == "local":
        return {}
    broker: KafkaBroker = request.getfixturevalue("kafka_broker")  # skips when none runs
    return {
        "bus_url": request.getfixturevalue("kafka_bus_url"),
        "kafka_enable_idempotence": broker.idempotence,
    }


@pytest.fixture
def start_node(
    more_database_urls: Callable[[str], str], tmp_path: Path, bus: dict[str, Any]
) -> NodeStarter:
    """Start matching as a node (e.g. Yibin 511500), each node on a database of its own, all on
    the test's bus."""

    def start(node: str, **overrides: Any) -> AbstractAsyncContextManager[Matching]:
        url = more_database_urls(node)
        return running(matching_settings_for(url, tmp_path, node, **{**bus, **overrides}))

    return start


@pytest.fixture
async def yibin(start_node: NodeStarter) -> AsyncIterator[Matching]:
    """The Yibin node (511500)."""
    async with start_node(YIBIN) as node:
        yield node
