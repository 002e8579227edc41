"""Test helpers of reporting: the test node, and registry events shaped per the registry's
committed contract (services/registry/asyncapi.json), to drive into the bus.

Reporting never imports the registry: these builders write the events' JSON as the contract
describes it (a test checks each builder's fields against the committed file), so tests and the
bench feed reporting exactly what the registry publishes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from shulian_common.app import runtime_of
from shulian_common.bus import OutgoingMessage
from shulian_common.envelope import CloudEvent
from shulian_common.reference import PROVINCE_CODE, counties
from shulian_common.testing.node import ServiceNode, node_settings, run_node
from shulian_reporting.consumers import ENTERPRISES_TOPIC, NETWORK_TOPIC, SUPPLIERS_TOPIC
from shulian_reporting.main import create_app
from shulian_reporting.settings import ReportingSettings

Reporting = ServiceNode[ReportingSettings]
REGISTRY = "cn.sichuan.shulian.registry"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
_ids = itertools.count(1)


def reporting_settings_for(
    database_url: str, tmp_path: Path, node: str = PROVINCE_CODE, **overrides: Any
) -> ReportingSettings:
    """Settings of a test node: its database, the local bus of ``tmp_path``, no telemetry."""
    return node_settings(
        ReportingSettings, database_url=database_url, tmp_path=tmp_path, node=node, **overrides
    )


def running(settings: ReportingSettings) -> AbstractAsyncContextManager[Reporting]:
    """Reporting with its lifespan started (migrations, seeding, relay, consumer) and a client."""
    return run_node(create_app, settings)


def new_id(prefix: str = "r") -> str:
    """A fresh record id (32 characters at most)."""
    return f"{prefix}{next(_ids):09d}"


def county_in(city: str) -> str:
    """The first county of ``city``."""
    return counties(city)[0].code


def _event(
    topic: str, aggregate: str, verb: str, data: dict[str, Any], node: str = PROVINCE_CODE
) -> tuple[str, CloudEvent]:
    event = CloudEvent(
        source=f"/nodes/{node}/registry",
        type=f"{REGISTRY}.{aggregate}.{verb}.v1",
        partitionkey=data["id"],
        subject=data["id"],
        data=data,
    )
    return topic, event


def _meta(record_id: str, version: int, at: datetime, node: str) -> dict[str, Any]:
    return {
        "id": record_id,
        "owner_node": node,
        "version": version,
        "created_at": at.isoformat(),
        "updated_at": at.isoformat(),
    }


def figure(year: int, service_line: str, revenue: int, trade: int = 0) -> dict[str, Any]:
    """One year's business of one service line."""
    return {
        "year": year,
        "service_line": service_line,
        "revenue_yuan": revenue,
        "trade_volume_yuan": trade,
    }


def supplier(
    record_id: str,
    *,
    city: str,
    version: int = 1,
    verb: str = "registered",
    status: str = "not_applied",
    decided_at: datetime | None = None,
    listing_industries: Sequence[str] = (),
    figures: Sequence[dict[str, Any]] = (),
    at: datetime = T0,
    node: str = PROVINCE_CODE,
) -> tuple[str, CloudEvent]:
    """A supplier snapshot event; ``verb="listing_changed"`` carries a decision at
    ``decided_at`` moving it to ``status``."""
    data: dict[str, Any] = {
        **_meta(record_id, version, at, node),
        "name": f"测试{record_id}人力资源有限公司",
        "uscc": "91510100MA00000000",
        "uscc_region_code": "510100",
        "county_code": county_in(city),
        "city_code": city,
        "region": "chengdu_plain",
        "service_lines": ["recruitment"],
        "industries": list(listing_industries),
        "high_end": False,
        "listing_status": status,
        "listing_industries": list(listing_industries),
        "listing_fields": [],
        "figures": list(figures),
    }
    if verb == "listing_changed":
        decided = decided_at or at
        data["decision"] = {
            "seq": version,
            "action": "approve",
            "from_status": "under_review",
            "to_status": status,
            "reason": None,
            "industries": list(listing_industries),
            "fields": [],
            "decided_by": "province-reviewer",
            "decided_by_role": "province_admin",
            "decided_by_node": PROVINCE_CODE,
            "decided_at": decided.isoformat(),
        }
        data["updated_at"] = decided.isoformat()
    return _event(SUPPLIERS_TOPIC, "supplier", verb, data, node)


def _platforms(count: int) -> list[dict[str, Any]]:
    return [{"name": f"平台{i}", "kind": None} for i in range(count)]


def park(
    record_id: str,
    *,
    city: str,
    level: str,
    linked: int = 0,
    objects: int = 0,
    version: int = 1,
    at: datetime = T0,
    industries: Sequence[str] = (),
) -> tuple[str, CloudEvent]:
    """A park snapshot with ``linked`` platforms and ``objects`` key service objects."""
    data = {
        **_meta(record_id, version, at, PROVINCE_CODE),
        "name": f"{record_id}人力资源服务产业园",
        "level": level,
        "county_code": county_in(city),
        "city_code": city,
        "industries": list(industries),
        "linked_platforms": _platforms(linked),
        "key_service_objects": [{"name": f"企业{i}", "industry": None} for i in range(objects)],
        "description": None,
    }
    return _event(NETWORK_TOPIC, "park", "created" if version == 1 else "updated", data)


def market(
    record_id: str,
    *,
    city: str,
    kind: str,
    level: str,
    county: str | None = None,
    linked: int = 0,
    version: int = 1,
    at: datetime = T0,
) -> tuple[str, CloudEvent]:
    """A market (or state-owned platform company) snapshot."""
    data = {
        **_meta(record_id, version, at, PROVINCE_CODE),
        "name": f"{record_id}人力资源市场",
        "kind": kind,
        "level": level,
        "county_code": county or county_in(city),
        "city_code": city,
        "industries": [],
        "linked_platforms": _platforms(linked),
        "description": None,
    }
    return _event(NETWORK_TOPIC, "market", "created" if version == 1 else "updated", data)


def station(
    record_id: str, *, city: str, kind: str, opened_on: date | None = None, at: datetime = T0
) -> tuple[str, CloudEvent]:
    """A station snapshot."""
    data = {
        **_meta(record_id, 1, at, PROVINCE_CODE),
        "name": f"{record_id}联络点",
        "kind": kind,
        "host_platform": "经开区",
        "county_code": county_in(city),
        "city_code": city,
        "supplier_id": None,
        "industries": [],
        "opened_on": opened_on.isoformat() if opened_on else None,
        "description": None,
    }
    return _event(NETWORK_TOPIC, "station", "created", data)


def scenario(
    record_id: str,
    *,
    city: str,
    supplier_id: str,
    started_on: date | None = None,
    industries: Sequence[str] = (),
    at: datetime = T0,
) -> tuple[str, CloudEvent]:
    """A deep-collaboration scenario snapshot."""
    data = {
        **_meta(record_id, 1, at, PROVINCE_CODE),
        "title": f"{record_id}驻企服务",
        "supplier_id": supplier_id,
        "host_kind": "key_enterprise",
        "host_name": "某重点企业",
        "enterprise_id": None,
        "mode": "one_stop",
        "county_code": county_in(city),
        "city_code": city,
        "industries": list(industries),
        "service_lines": ["recruitment"],
        "started_on": started_on.isoformat() if started_on else None,
        "description": None,
    }
    return _event(NETWORK_TOPIC, "scenario", "created", data)


def pairing(
    record_id: str,
    *,
    city: str,
    supplier_id: str | None,
    kind: str = "supplier_area",
    at: datetime = T0,
) -> tuple[str, CloudEvent]:
    """A pairing snapshot (a supplier with a county of ``city``)."""
    data = {
        **_meta(record_id, 1, at, PROVINCE_CODE),
        "kind": kind,
        "supplier_id": supplier_id,
        "division_code": county_in(city),
        "city_code": city,
        "area_kinds": ["ethnic"],
        "hr_association": None,
        "industry_association": None,
        "industries": [],
        "started_on": None,
        "description": None,
    }
    return _event(NETWORK_TOPIC, "pairing", "created", data)


def platform(
    record_id: str, *, city: str | None, at: datetime = T0, version: int = 1
) -> tuple[str, CloudEvent]:
    """An informatisation platform snapshot (``city=None``: a province-level platform)."""
    data = {
        **_meta(record_id, version, at, PROVINCE_CODE),
        "name": f"{record_id}信息平台",
        "kind": "online_platform",
        "operator_kind": "node",
        "supplier_id": None,
        "division_code": county_in(city) if city else PROVINCE_CODE,
        "city_code": city,
        "url": None,
        "launched_on": None,
        "description": None,
    }
    return _event(NETWORK_TOPIC, "platform", "created" if version == 1 else "updated", data)


def enterprise(record_id: str, *, city: str, at: datetime = T0) -> tuple[str, CloudEvent]:
    """A key enterprise snapshot."""
    data = {
        **_meta(record_id, 1, at, PROVINCE_CODE),
        "name": f"{record_id}有限公司",
        "uscc": "91510100MA00000000",
        "county_code": county_in(city),
        "city_code": city,
        "industries": ["electronic_information"],
        "description": None,
    }
    return _event(ENTERPRISES_TOPIC, "enterprise", "registered", data)


def messages(events: Sequence[tuple[str, CloudEvent]]) -> list[OutgoingMessage]:
    """The bus messages of ``events``."""
    return [
        OutgoingMessage(
            topic=topic, key=event.partitionkey, value=event.to_value(), headers=event.to_headers()
        )
        for topic, event in events
    ]


async def publish(node: Reporting, events: Sequence[tuple[str, CloudEvent]]) -> None:
    """Publish registry events on the node's bus and wait until reporting has applied them."""
    await runtime_of(node.app).publisher.publish(messages(events))
    await node.drain()
