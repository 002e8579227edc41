"""Fixtures: matching nodes on fresh databases (SQLite and PostgreSQL), one bus per test.

A module opts in to running its tests over both buses with ``pytestmark = BOTH_BUSES`` (or the
``both_buses`` marker): each of its tests then runs over the local log and over Kafka (a Tansu
broker of its own, so no test sees another's topics, offsets or consumer groups); the Kafka
variants carry the ``kafka`` marker. Other modules run over the local log only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shulian_common.app import runtime
from shulian_common.bus import Bus, bus_from_url
from shulian_common.bus.kafka import KafkaBus
from shulian_common.settings import Settings
from shulian_common.testing.kafka import KafkaBroker, start_tansu
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
def bus(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """Settings overrides naming the test's bus: none for the local log of ``tmp_path``; for
    Kafka, a Tansu broker started for this test alone (topics and committed offsets of other
    tests on the session's broker would leak into this one's replicas), whose consumers use the
    short group timings of the kit's ``kafka_bus`` fixture (the settings have none: with the
    10 s default session, Tansu holds every group join for about 5 s)."""
    kind = getattr(request, "param", "local")
    if kind == "local":
        yield {}
        return
    session: KafkaBroker = request.getfixturevalue("kafka_broker")  # skips when none runs
    if session.kind != "tansu":
        pytest.skip("the Kafka variants start a Tansu broker of their own per test")
    short: KafkaBus = request.getfixturevalue("kafka_bus")

    def quick_groups(url: str, settings: Settings | None = None) -> Bus:
        made = bus_from_url(url, settings)
        if isinstance(made, KafkaBus):
            made.options = replace(
                made.options,
                session_timeout_ms=short.options.session_timeout_ms,
                heartbeat_interval_ms=short.options.heartbeat_interval_ms,
                rebalance_timeout_ms=short.options.rebalance_timeout_ms,
            )
        return made

    monkeypatch.setattr(runtime, "bus_from_url", quick_groups)
    with start_tansu() as bootstrap:
        yield {"bus_url": f"kafka://{bootstrap}", "kafka_enable_idempotence": session.idempotence}


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
