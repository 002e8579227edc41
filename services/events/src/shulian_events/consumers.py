"""What the calendar consumes, each through a reader model of its own (checked against the
producer's committed asyncapi.json by the contract test, never by importing the producer):

- the registry's supplier and enterprise snapshots: who exists and who is delisted;
- other nodes' activity snapshots: the province-wide calendar;
- other nodes' registration snapshots: the decisions on requests this node passed on;
- registration requests (commands) for activities this node owns, decided in log order, and the
  owners' decisions on the requests this node sent (the kit's ``decides`` and ``follows``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shulian_common.commands import CommandReader, decides, follows
from shulian_common.consumer import Subscription
from shulian_common.readers import ReaderModel, Reads
from shulian_events.contracts import (
    ACTIVITIES_TOPIC,
    REGISTRATION_REQUEST_DECIDED,
    REGISTRATION_REQUESTED,
    REGISTRATION_REQUESTS_TOPIC,
    REGISTRATIONS_TOPIC,
    RegistrationRequestDecided,
)
from shulian_events.handlers.registrations import decide_request, load_activity
from shulian_events.handlers.replica import (
    keep_activity,
    keep_enterprise,
    keep_registration,
    keep_supplier,
)

SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"
ENTERPRISES_TOPIC = "shulian.registry.enterprises.v1"
_REGISTRY = "cn.sichuan.shulian.registry"
_EVENTS = "cn.sichuan.shulian.events"
SUPPLIER_TYPES = tuple(
    f"{_REGISTRY}.supplier.{verb}.v1" for verb in ("registered", "updated", "listing_changed")
)
ENTERPRISE_TYPES = tuple(f"{_REGISTRY}.enterprise.{verb}.v1" for verb in ("registered", "updated"))
ACTIVITY_TYPES = tuple(
    f"{_EVENTS}.activity.{verb}.v1"
    for verb in ("scheduled", "updated", "rescheduled", "held", "completed", "cancelled")
)
REGISTRATION_TYPES = tuple(
    f"{_EVENTS}.registration.{verb}.v1"
    for verb in ("decided", "approved", "promoted", "cancelled", "checked_in")
)


class SupplierReader(ReaderModel):
    """What the calendar reads of a supplier snapshot."""

    id: str
    owner_node: str
    version: int
    updated_at: datetime
    name: str
    # A string, not an enum: a status added later must not dead-letter snapshots.
    listing_status: str


class EnterpriseReader(ReaderModel):
    """What the calendar reads of an enterprise snapshot."""

    id: str
    owner_node: str
    version: int
    updated_at: datetime
    name: str


class OverrideReader(ReaderModel):
    """One moved or cancelled occurrence."""

    key: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cancelled: bool = False
    reason: str | None = None


class ActivityReader(ReaderModel):
    """Another node's activity, whole (the replica shows it as its owner does)."""

    id: str
    owner_node: str
    version: int
    created_at: datetime
    updated_at: datetime
    title: str
    kind: str
    level: str
    campaign: str | None
    division_code: str
    city_code: str | None
    industries: list[str]
    host_kind: str | None
    host_ref: str | None
    host_name: str | None
    venue: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    rrule: str | None
    overrides: list[OverrideReader]
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    approval_required: bool
    status: str
    cancel_reason: str | None
    outcome: dict[str, int] | None


class RegistrationReader(ReaderModel):
    """Another node's registration decision."""

    id: str
    owner_node: str
    version: int
    created_at: datetime
    updated_at: datetime
    activity_id: str
    occurrence_key: str
    participant_kind: str
    participant_id: str
    participant_name: str | None
    requester_node: str
    status: str
    seq: int
    hr_managers: int = Field(ge=0)
    attendees: int = Field(ge=0)
    reason_code: str | None
    reason: str | None
    checked_in_at: datetime | None


class RegistrationRequestReader(CommandReader):
    """What the owner reads of a registration request."""

    occurrence_key: str | None = None
    participant_kind: str
    participant_id: str
    hr_managers: int = Field(ge=0)


def subscriptions(node_id: str) -> list[Subscription]:
    """The calendar's subscriptions on the node ``node_id``."""
    suppliers = Reads(model=SupplierReader, handle=keep_supplier)
    enterprises = Reads(model=EnterpriseReader, handle=keep_enterprise)
    activities = Reads(model=ActivityReader, handle=keep_activity(node_id))
    registrations = Reads(model=RegistrationReader, handle=keep_registration(node_id))
    followed = follows(
        topic=REGISTRATIONS_TOPIC, decision_types=[REGISTRATION_REQUEST_DECIDED], node_id=node_id
    )
    return [
        decides(
            topic=REGISTRATION_REQUESTS_TOPIC,
            command_type=REGISTRATION_REQUESTED,
            reader=RegistrationRequestReader,
            load=load_activity,
            decide=decide_request,
            decision=RegistrationRequestDecided,
            node_id=node_id,
        ),
        Subscription(topic=SUPPLIERS_TOPIC, handlers=dict.fromkeys(SUPPLIER_TYPES, suppliers)),
        Subscription(
            topic=ENTERPRISES_TOPIC, handlers=dict.fromkeys(ENTERPRISE_TYPES, enterprises)
        ),
        Subscription(topic=ACTIVITIES_TOPIC, handlers=dict.fromkeys(ACTIVITY_TYPES, activities)),
        Subscription(
            topic=REGISTRATIONS_TOPIC,
            handlers={
                **dict.fromkeys(REGISTRATION_TYPES, registrations),
                **followed.handlers,
            },
        ),
    ]
