"""Events and matching snapshots shaped per those services' committed contracts
(services/events/asyncapi.json, services/matching/asyncapi.json), to drive into the bus.

As for the registry's (``testing``), reporting imports neither service: these builders write the
JSON each contract describes, and a unit test checks their fields against the committed files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shulian_common.envelope import CloudEvent
from shulian_common.reference import PROVINCE_CODE
from shulian_reporting.consumers import (
    ACTIVITIES_TOPIC,
    ORDERS_TOPIC,
    REGISTRATIONS_TOPIC,
    TALENTS_TOPIC,
)
from shulian_reporting.testing import T0, county_in

EVENTS = "cn.sichuan.shulian.events"
MATCHING = "cn.sichuan.shulian.matching"


def _event(
    topic: str, service: str, kind: str, data: dict[str, Any], key: str, node: str
) -> tuple[str, CloudEvent]:
    prefix = EVENTS if service == "events" else MATCHING
    event = CloudEvent(
        source=f"/nodes/{node}/{service}",
        type=f"{prefix}.{kind}.v1",
        partitionkey=key,
        subject=data["id"],
        data=data,
    )
    return topic, event


def outcome(
    *, positions: int = 0, intents: int = 0, hr_managers: int = 0, firms: int = 0
) -> dict[str, int]:
    """A completed activity's outcome."""
    return {
        "firms_participated": firms,
        "positions_offered": positions,
        "intents_signed": intents,
        "hr_managers_attended": hr_managers,
    }


def activity(
    record_id: str,
    *,
    kind: str,
    starts_at: datetime,
    city: str | None = None,
    level: str | None = None,
    verb: str = "scheduled",
    version: int = 1,
    status: str | None = None,
    rrule: str | None = None,
    overrides: Sequence[dict[str, Any]] = (),
    outcome: dict[str, int] | None = None,
    industries: Sequence[str] = (),
    node: str = PROVINCE_CODE,
) -> tuple[str, CloudEvent]:
    """An activity snapshot (``city=None``: organised by the province)."""
    level = level or ("province" if city is None else "city")
    data: dict[str, Any] = {
        "id": record_id,
        "owner_node": node,
        "version": version,
        "created_at": T0.isoformat(),
        "updated_at": T0.isoformat(),
        "title": f"{record_id}专场活动",
        "kind": kind,
        "level": level,
        "campaign": None,
        "division_code": city or PROVINCE_CODE,
        "city_code": city,
        "industries": list(industries),
        "host_kind": None,
        "host_ref": None,
        "host_name": None,
        "venue": "会展中心",
        "timezone": "Asia/Shanghai",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=3)).isoformat(),
        "rrule": rrule,
        "overrides": list(overrides),
        "capacity": 100,
        "registration_opens_at": None,
        "registration_closes_at": None,
        "approval_required": False,
        "status": status or ("scheduled" if verb == "updated" else verb),
        "cancel_reason": "天气原因" if verb == "cancelled" else None,
        "outcome": outcome,
    }
    return _event(ACTIVITIES_TOPIC, "events", f"activity.{verb}", data, record_id, node)


def registration(
    record_id: str,
    *,
    activity_id: str,
    participant_kind: str = "supplier",
    status: str = "checked_in",
    attendees: int = 0,
    checked_in_at: datetime | None = None,
    version: int = 1,
    occurrence_key: str = "once",
    node: str = PROVINCE_CODE,
) -> tuple[str, CloudEvent]:
    """A registration snapshot (``status="checked_in"``: checked in at ``checked_in_at``)."""
    verb = {"checked_in": "checked_in", "cancelled": "cancelled"}.get(status, "decided")
    data = {
        "id": record_id,
        "owner_node": node,
        "version": version,
        "created_at": T0.isoformat(),
        "updated_at": T0.isoformat(),
        "activity_id": activity_id,
        "occurrence_key": occurrence_key,
        "participant_kind": participant_kind,
        "participant_id": f"org-{record_id}",
        "participant_name": f"{record_id}公司",
        "requester_node": node,
        "status": status,
        "seq": version,
        "hr_managers": attendees,
        "attendees": attendees,
        "reason_code": None,
        "reason": None,
        "checked_in_at": checked_in_at.isoformat() if checked_in_at else None,
    }
    return _event(REGISTRATIONS_TOPIC, "events", f"registration.{verb}", data, activity_id, node)


def order(
    record_id: str,
    *,
    city: str,
    head_count: int,
    industry: str | None = "electronic_information",
    occupation: str | None = "6",
    kind: str = "job",
    placed_at: datetime = T0,
    status: str = "open",
    accepted: int = 0,
    placements: int | None = None,
    contract_value: int | None = None,
    fulfilled_at: datetime | None = None,
    version: int = 1,
    node: str = PROVINCE_CODE,
) -> tuple[str, CloudEvent]:
    """An order snapshot; ``fulfilled_at`` makes it an ``order.fulfilled`` event."""
    verb = "fulfilled" if fulfilled_at else ("placed" if version == 1 else "updated")
    data = {
        "id": record_id,
        "owner_node": node,
        "version": version,
        "created_at": placed_at.isoformat(),
        "updated_at": (fulfilled_at or placed_at).isoformat(),
        "kind": kind,
        "title": f"{record_id}用工需求",
        "placer_kind": "enterprise",
        "placed_by": "e1",
        "county_code": county_in(city),
        "city_code": city,
        "service_line": "recruitment" if kind == "service" else None,
        "industry": industry,
        "occupation_code": occupation,
        "skills": [],
        "head_count": head_count,
        "slots": 1 if kind == "service" else head_count,
        "budget_yuan": None,
        "monthly_pay_yuan": 6000,
        "deadline": date(2024, 12, 31).isoformat(),
        "visibility": "province",
        "visible_cities": [],
        "status": "fulfilled" if fulfilled_at else status,
        "awarded_count": 0,
        "accepted_count": accepted,
        "terms_version": 1,
        "placements": placements,
        "contract_value_yuan": contract_value,
        "fulfilled_at": fulfilled_at.isoformat() if fulfilled_at else None,
    }
    return _event(ORDERS_TOPIC, "matching", f"order.{verb}", data, record_id, node)


def talent(
    record_id: str, *, city: str, occupation: str | None = "6", node: str = PROVINCE_CODE
) -> tuple[str, CloudEvent]:
    """A talent snapshot: occupation and county, nothing personal."""
    data = {
        "id": record_id,
        "owner_node": node,
        "version": 1,
        "updated_at": datetime(2024, 1, 1, tzinfo=UTC).isoformat(),
        "occupation_code": occupation,
        "skills": [],
        "county_code": county_in(city),
    }
    return _event(TALENTS_TOPIC, "matching", "talent.saved", data, record_id, node)
