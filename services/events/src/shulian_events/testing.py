"""Test helpers of the calendar: the generic test node bound to it, and valid activities.

Everything that is not about the calendar (client, tokens, drain, event capture) is
``shulian_common.testing.node``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar import Calendar

from shulian_common.auth import Role
from shulian_common.bus.base import OutgoingMessage
from shulian_common.envelope import CloudEvent
from shulian_common.testing.node import NodeFactory as AnyNodeFactory
from shulian_common.testing.node import ServiceNode, node_settings, run_node
from shulian_events.consumers import ENTERPRISES_TOPIC, SUPPLIERS_TOPIC
from shulian_events.main import create_app
from shulian_events.settings import EventsSettings

Events = ServiceNode[EventsSettings]
NodeFactory = AnyNodeFactory[EventsSettings]


def events_settings_for(
    database_url: str, tmp_path: Path, node: str, **overrides: Any
) -> EventsSettings:
    """Settings of a test node: its database, the local bus of ``tmp_path`` (unless ``overrides``
    name another), no telemetry."""
    return node_settings(
        EventsSettings, database_url=database_url, tmp_path=tmp_path, node=node, **overrides
    )


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


async def schedule(node: Events, **extra: Any) -> dict[str, Any]:
    """Schedule ``activity_body(**extra)`` on ``node`` as the province admin; the activity."""
    response = await node.client.post(
        "/v1/activities", json=activity_body(**extra), headers=node.province
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def ask(node: Events, activity_id: str, supplier: str, key: str | None = None) -> str:
    """Ask ``node`` for a place as the supplier itself (one HR manager; ``key``: the occurrence of
    a series); the request's id, answered ``202``."""
    body: dict[str, Any] = {
        "participant_kind": "supplier",
        "participant_id": supplier,
        "hr_managers": 1,
    }
    if key is not None:
        body["occurrence_key"] = key
    response = await node.client.post(
        f"/v1/activities/{activity_id}/registrations",
        json=body,
        headers=node.auth(Role.SUPPLIER, supplier_id=supplier),
    )
    assert response.status_code == 202, response.text
    request_id: str = response.json()["id"]
    return request_id


def participant_message(
    participant_id: str,
    *,
    kind: str = "supplier",
    name: str = "宜宾市人力资源服务有限公司",
    owner_node: str = "511500",
    listing_status: str = "listed",
    version: int = 1,
) -> OutgoingMessage:
    """A registry snapshot of a supplier (or enterprise), as the registry of ``owner_node``
    publishes it (the fields the calendar reads, and the ones the trust rule checks)."""
    verb = "registered" if version == 1 else "updated"
    event = CloudEvent(
        source=f"/nodes/{owner_node}/registry",
        type=f"cn.sichuan.shulian.registry.{kind}.{verb}.v1",
        subject=participant_id,
        partitionkey=participant_id,
        data={
            "id": participant_id,
            "owner_node": owner_node,
            "version": version,
            "created_at": "2025-01-01T00:00:00+00:00",
            "updated_at": datetime.now(UTC).isoformat(),
            "name": name,
            "city_code": owner_node if owner_node != "510000" else "510100",
            "listing_status": listing_status,
        },
    )
    topic = SUPPLIERS_TOPIC if kind == "supplier" else ENTERPRISES_TOPIC
    return OutgoingMessage(
        topic=topic, key=participant_id, value=event.to_value(), headers=event.to_headers()
    )


async def publish_participant(node: Events, participant_id: str, **fields: Any) -> None:
    """Put one registry snapshot on the bus and let ``node`` consume it."""
    await node.runtime.publisher.publish([participant_message(participant_id, **fields)])
    await node.drain()


async def publish_participants(node: Events, ids: Sequence[str], **fields: Any) -> None:
    """Put registry snapshots of many suppliers on the bus in one batch (``node`` drains later)."""
    await node.runtime.publisher.publish([participant_message(i, **fields) for i in ids])


async def command_log(node: Events, topic: str) -> list[str]:
    """The request ids on a command topic, in log order (each activity is one key, so one
    partition: its order is total)."""
    found: list[str] = []
    group = f"log-{uuid.uuid4().hex}"
    async with node.runtime.bus.subscriber(topics=[topic], group_id=group) as subscriber:
        while True:
            records = await subscriber.poll(timeout=1.0)
            if not records:
                return found
            for record in sorted(records, key=lambda r: (r.partition, r.offset)):
                event = CloudEvent.from_record(record.headers, record.value, record.key)
                found.append(str(event.data["request_id"]))


def expand_ics(text: bytes) -> list[datetime]:
    """Occurrence starts of every event in the file, RFC 5545 semantics (RRULE, EXDATE,
    RECURRENCE-ID), independent of the code that wrote it."""
    events: list[Any] = Calendar.from_ical(text).walk("VEVENT")
    masters = [e for e in events if "RECURRENCE-ID" not in e]
    overrides = {
        (str(e["UID"]), _moment(e, "RECURRENCE-ID")): _moment(e, "DTSTART")
        for e in events
        if "RECURRENCE-ID" in e
    }
    starts: list[datetime] = []
    for event in masters:
        start = _moment(event, "DTSTART")
        if "RRULE" not in event:
            starts.append(start)
            continue
        rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
        exdates = {d.dt for ex in _list(event.get("EXDATE")) for d in ex.dts}
        for moment in rule:
            if moment not in exdates:
                starts.append(overrides.get((str(event["UID"]), moment), moment))
    return sorted(starts)


def _moment(component: Any, name: str) -> datetime:
    value = component.decoded(name)
    assert isinstance(value, datetime)
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
