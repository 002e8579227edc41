"""Events the calendar publishes: full snapshots of activities and of registrations.

Every change of an activity publishes its whole new state, overrides of its occurrences
included, so another node rebuilds its calendar replica (and every occurrence) from the stream
alone. Registrations are published by the activity's owner node, keyed by the activity's id, so
their order on the topic is the order in which the owner decided them. A registration is asked
for on any node with a command (``registration.requested``) on the command topic, keyed by the
activity; the owner decides in log order and answers with a decision event on the registrations
topic. Registrations name organisations (suppliers, enterprises), never a person.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shulian_common.catalogue import EventModel, event_type
from shulian_common.commands import CommandModel, DecisionModel
from shulian_events.domain.lifecycle import ActivityStatus
from shulian_events.domain.participation import RegistrationStatus
from shulian_events.domain.terms import ActivityKind, Campaign, HostKind, Level, ParticipantKind

ACTIVITIES_TOPIC = "shulian.events.activities.v1"
REGISTRATIONS_TOPIC = "shulian.events.registrations.v1"
# The command topic of "request on any node, the owner decides", keyed by activity id.
REGISTRATION_REQUESTS_TOPIC = "shulian.events.registration_requests.v1"
REGISTRATION_REQUESTED = "cn.sichuan.shulian.events.registration.requested.v1"
REGISTRATION_REQUEST_DECIDED = "cn.sichuan.shulian.events.registration_request.decided.v1"
_PREFIX = "cn.sichuan.shulian.events"


class OccurrenceOverride(EventModel):
    """One occurrence of a series moved or cancelled, named by its key (original start, UTC)."""

    key: str = Field(examples=["20250301T010000Z"])
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cancelled: bool = False
    reason: str | None = None


class ActivityOutcome(EventModel):
    """What a completed activity achieved."""

    firms_participated: int = Field(ge=0)
    positions_offered: int = Field(ge=0)
    intents_signed: int = Field(ge=0)
    hr_managers_attended: int = Field(ge=0, description="person-times")


class ActivitySnapshot(EventModel):
    """An activity's whole state."""

    id: str
    owner_node: str
    version: int
    created_at: datetime
    updated_at: datetime
    title: str
    kind: ActivityKind
    level: Level
    campaign: Campaign | None
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
    overrides: list[OccurrenceOverride]
    capacity: int
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    approval_required: bool
    status: ActivityStatus
    cancel_reason: str | None
    outcome: ActivityOutcome | None


@event_type(type=f"{_PREFIX}.activity.scheduled.v1", topic=ACTIVITIES_TOPIC)
class ActivityScheduled(ActivitySnapshot):
    """活动已排期 (an activity was scheduled)."""


@event_type(type=f"{_PREFIX}.activity.updated.v1", topic=ACTIVITIES_TOPIC)
class ActivityUpdated(ActivitySnapshot):
    """活动信息已更新 (details changed, dates unchanged)."""


@event_type(type=f"{_PREFIX}.activity.rescheduled.v1", topic=ACTIVITIES_TOPIC)
class ActivityRescheduled(ActivitySnapshot):
    """活动已改期 (dates changed, or one occurrence of a series moved or cancelled)."""


@event_type(type=f"{_PREFIX}.activity.held.v1", topic=ACTIVITIES_TOPIC)
class ActivityHeld(ActivitySnapshot):
    """活动已举办 (the activity took place)."""


@event_type(type=f"{_PREFIX}.activity.completed.v1", topic=ACTIVITIES_TOPIC)
class ActivityCompleted(ActivitySnapshot):
    """活动已办结 (completed, with its outcome)."""


@event_type(type=f"{_PREFIX}.activity.cancelled.v1", topic=ACTIVITIES_TOPIC)
class ActivityCancelled(ActivitySnapshot):
    """活动已取消 (cancelled, with a reason)."""


ACTIVITY_EVENTS: tuple[type[ActivitySnapshot], ...] = (
    ActivityScheduled,
    ActivityUpdated,
    ActivityRescheduled,
    ActivityHeld,
    ActivityCompleted,
    ActivityCancelled,
)


class RegistrationSnapshot(EventModel):
    """A registration's whole state, as the activity's owner node decided it."""

    id: str
    owner_node: str = Field(description="the activity's owner node, which decides")
    version: int
    created_at: datetime
    updated_at: datetime
    activity_id: str
    occurrence_key: str
    participant_kind: ParticipantKind
    participant_id: str
    participant_name: str | None
    requester_node: str
    status: RegistrationStatus
    seq: int = Field(description="decision order within the occurrence (waiting-list order)")
    hr_managers: int = Field(ge=0, description="HR managers the participant brings")
    attendees: int = Field(ge=0, description="HR managers checked in (person-times)")
    reason_code: str | None
    reason: str | None
    checked_in_at: datetime | None


@event_type(type=f"{_PREFIX}.registration.decided.v1", topic=REGISTRATIONS_TOPIC)
class RegistrationDecided(RegistrationSnapshot):
    """报名已受理 (the owner decided a request: confirmed, waitlisted, pending or rejected)."""


@event_type(type=f"{_PREFIX}.registration.approved.v1", topic=REGISTRATIONS_TOPIC)
class RegistrationApproved(RegistrationSnapshot):
    """报名已审核 (approved into a place or the waiting list, or rejected)."""


@event_type(type=f"{_PREFIX}.registration.promoted.v1", topic=REGISTRATIONS_TOPIC)
class RegistrationPromoted(RegistrationSnapshot):
    """候补转正 (a waiting registration took a freed place)."""


@event_type(type=f"{_PREFIX}.registration.cancelled.v1", topic=REGISTRATIONS_TOPIC)
class RegistrationCancelled(RegistrationSnapshot):
    """报名已取消 (the participant withdrew)."""


@event_type(type=f"{_PREFIX}.registration.checked_in.v1", topic=REGISTRATIONS_TOPIC)
class RegistrationCheckedIn(RegistrationSnapshot):
    """已签到 (the participant checked in on the day)."""


REGISTRATION_EVENTS: tuple[type[RegistrationSnapshot], ...] = (
    RegistrationDecided,
    RegistrationApproved,
    RegistrationPromoted,
    RegistrationCancelled,
    RegistrationCheckedIn,
)


@event_type(type=REGISTRATION_REQUESTED, topic=REGISTRATION_REQUESTS_TOPIC)
class RegistrationRequested(CommandModel):
    """报名申请 (a node asks the activity's owner node for a place; ``target_id``: activity)."""

    occurrence_key: str | None = Field(description="the series occurrence; none for one activity")
    participant_kind: ParticipantKind
    participant_id: str
    hr_managers: int = Field(ge=0)


@event_type(type=REGISTRATION_REQUEST_DECIDED, topic=REGISTRATIONS_TOPIC)
class RegistrationRequestDecided(DecisionModel):
    """报名申请已决定 (accepted: ``result`` has the registration's status — confirmed,
    waitlisted or pending approval — and its ``seq``; rejected: ``reason`` says why)."""
