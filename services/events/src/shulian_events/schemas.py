"""HTTP request and response models of the calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from shulian_common.reference import INDUSTRIES
from shulian_common.schemas import RecordRead, Strict, partial_of
from shulian_events.domain.lifecycle import ActivityStatus
from shulian_events.domain.participation import RegistrationStatus
from shulian_events.domain.terms import ActivityKind, Campaign, HostKind, Level, ParticipantKind

IndustryCode = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", examples=["power_batteries"])
]
# A target industry: one of the kit's taxonomy codes. The handlers refuse any other with
# ``unknown_industry`` (422); the schema lists the codes so clients see them.
KnownIndustryCode = Annotated[
    IndustryCode, WithJsonSchema({"type": "string", "enum": [i.code for i in INDUSTRIES]})
]
Text = Annotated[str, Field(min_length=1, max_length=500)]


class ActivityFields(Strict):
    """What an organiser may change on an activity."""

    title: str = Field(min_length=1, max_length=200, examples=["宜宾市动力电池产业招聘引才专场"])
    kind: ActivityKind
    campaign: Campaign | None = None
    industries: list[KnownIndustryCode] = Field(default_factory=list, max_length=20)
    host_kind: HostKind | None = None
    host_ref: str | None = Field(
        default=None, max_length=32, description="the registry's id of the park or enterprise"
    )
    host_name: str | None = Field(default=None, max_length=200, examples=["宜宾三江新区"])
    venue: str = Field(min_length=1, max_length=300, examples=["宜宾市人力资源市场三楼大厅"])
    starts_at: datetime = Field(description="with its offset, e.g. 2025-03-01T09:00:00+08:00")
    ends_at: datetime
    rrule: str | None = Field(
        default=None,
        max_length=500,
        description="RFC 5545 RRULE (bounded by COUNT or UNTIL), e.g. FREQ=WEEKLY;COUNT=4",
        examples=["FREQ=WEEKLY;BYDAY=SA;COUNT=4"],
    )
    capacity: int = Field(ge=1, le=100_000, description="places per occurrence")
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    approval_required: bool = False


class ActivityCreate(ActivityFields):
    """A new activity; ``division_code`` is the organiser's division and fits ``level``."""

    level: Level
    division_code: str = Field(pattern=r"^\d{6}$", examples=["511500"])


ActivityUpdate: Any = partial_of(ActivityFields, "ActivityUpdate")


class OccurrenceRead(BaseModel):
    """One occurrence as it stands."""

    model_config = ConfigDict(from_attributes=True)

    key: str = Field(description="RECURRENCE-ID of a series occurrence, `once` otherwise")
    starts_at: datetime
    ends_at: datetime
    moved: bool
    cancelled: bool


class OutcomeRead(BaseModel):
    """What a completed activity achieved."""

    firms_participated: int
    positions_offered: int
    intents_signed: int
    hr_managers_attended: int


class Warning(BaseModel):
    """Something the organiser should know, which did not stop the change."""

    code: str = Field(examples=["double_booked"])
    detail: str
    activity_id: str
    starts_at: datetime


class ActivityRead(RecordRead):
    """An activity, with its occurrences and any warnings about it."""

    title: str
    kind: ActivityKind
    kind_label: str
    level: Level
    campaign: Campaign | None
    campaign_label: str | None
    division_code: str
    city_code: str | None
    industries: list[str]
    host_kind: HostKind | None
    host_ref: str | None
    host_name: str | None
    venue: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    rrule: str | None
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    approval_required: bool
    status: ActivityStatus
    status_label: str
    cancel_reason: str | None
    outcome: OutcomeRead | None
    occurrences: list[OccurrenceRead]
    warnings: list[Warning] = Field(default_factory=list)


class CancelIn(Strict):
    """Why it is cancelled."""

    reason: Text


class MoveIn(Strict):
    """Where one occurrence moves to."""

    starts_at: datetime
    ends_at: datetime


class OutcomeIn(Strict):
    """The outcome of a completed activity; firms and HR managers default to check-in counts."""

    positions_offered: int = Field(ge=0, le=10_000_000)
    intents_signed: int = Field(ge=0, le=10_000_000)
    firms_participated: int | None = Field(default=None, ge=0, le=100_000)
    hr_managers_attended: int | None = Field(default=None, ge=0, le=1_000_000)


class RegistrationCreate(Strict):
    """A request to register a supplier or an enterprise for one occurrence."""

    participant_kind: ParticipantKind
    participant_id: str = Field(min_length=1, max_length=32)
    occurrence_key: str | None = Field(
        default=None, max_length=20, description="required for a series; omit for one activity"
    )
    hr_managers: int = Field(default=0, ge=0, le=1000, description="HR managers it brings")


class CheckInIn(Strict):
    """HR managers present (person-times); defaults to the number registered."""

    attendees: int | None = Field(default=None, ge=0, le=1000)


class RegistrationRead(BaseModel):
    """A registration as this node knows it: ``pending_decision`` until the owner decided."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    owner_node: str
    activity_id: str
    occurrence_key: str | None = None
    participant_kind: ParticipantKind | None = Field(
        default=None, description="absent only on a request this node has not seen decided"
    )
    participant_id: str | None = None
    participant_name: str | None = None
    requester_node: str | None = None
    status: RegistrationStatus | str = Field(
        description="pending_decision, or a decided status", examples=["confirmed"]
    )
    status_label: str
    seq: int | None = None
    hr_managers: int = 0
    attendees: int = 0
    reason_code: str | None = None
    reason: str | None = None
    checked_in_at: datetime | None = None
    version: int | None = None
    updated_at: datetime | None = None


class CalendarSubscription(BaseModel):
    """A link a calendar app subscribes to, carrying its own key (no header needed)."""

    url: str = Field(description="the .ics feed with the filters asked for and the key")
    webcal_url: str = Field(description="the same, as `webcal://` for apps that open such links")
    expires_at: datetime = Field(description="when the key stops working: ask for a new link")
