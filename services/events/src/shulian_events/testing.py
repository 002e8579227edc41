"""Test helpers of the calendar: the generic test node bound to it, and valid activities.

Everything that is not about the calendar (client, tokens, drain, event capture) is
``shulian_common.testing.node``.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shulian_common.testing.node import NodeFactory as AnyNodeFactory
from shulian_common.testing.node import ServiceNode, node_settings, run_node
from shulian_events.main import create_app
from shulian_events.settings import EventsSettings

Events = ServiceNode[EventsSettings]
NodeFactory = AnyNodeFactory[EventsSettings]


def events_settings_for(database_url: str, tmp_path: Path, node: str) -> EventsSettings:
    """Settings of a test node: its database, the local bus of ``tmp_path``, no telemetry."""
    return node_settings(EventsSettings, database_url=database_url, tmp_path=tmp_path, node=node)


def running(settings: EventsSettings) -> AbstractAsyncContextManager[Events]:
    """The calendar app with its lifespan started (migrations, relay, consumers) and a client."""
    return run_node(create_app, settings)


def soon(days: int = 7, hour: int = 1) -> datetime:
    """A whole hour ``days`` from now, in UTC."""
    today = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return today.replace(hour=hour) + timedelta(days=days)


def activity_body(division_code: str = "511500", **extra: Any) -> dict[str, Any]:
    """A valid ``ActivityCreate`` body: a city recruitment session a week from now."""
    starts_at = extra.pop("starts_at", soon())
    level = extra.pop("level", "city" if division_code.endswith("00") else "county")
    if division_code == "510000":
        level = "province"
    return {
        "title": "宜宾市动力电池产业招聘引才专场",
        "kind": "recruitment",
        "level": level,
        "division_code": division_code,
        "campaign": "spring_breeze",
        "industries": ["power_batteries"],
        "venue": "宜宾市人力资源市场",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=4)).isoformat(),
        "capacity": 3,
        **extra,
    }
