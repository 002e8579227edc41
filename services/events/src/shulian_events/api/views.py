"""How records are shown: activities with their occurrences and labels, registrations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shulian_common.commands import PENDING, Outcome, Request
from shulian_common.schemas import plain_fields
from shulian_events.domain.conflicts import Clash
from shulian_events.domain.lifecycle import ActivityStatus
from shulian_events.domain.participation import RegistrationStatus
from shulian_events.domain.terms import ActivityKind, Campaign, ParticipantKind
from shulian_events.handlers.registrations import RegistrationAsk
from shulian_events.orm import Activity, Occurrence, Registration
from shulian_events.repository import (
    LISTED_AS_IS,
    LISTED_RENDERED,
    ListedActivity,
)
from shulian_events.schemas import (
    ActivityRead,
    OccurrenceRead,
    OutcomeRead,
    RegistrationRead,
    Warning,
)


def activity_view(
    row: Activity, occurrences: Sequence[Occurrence], clashes: Sequence[Clash] = ()
) -> ActivityRead:
    """An activity as the API shows it."""
    campaign = Campaign(row.campaign) if row.campaign is not None else None
    return ActivityRead(
        id=row.id,
        owner_node=row.owner_node,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        title=row.title,
        kind=ActivityKind(row.kind),
        kind_label=ActivityKind(row.kind).label,
        level=row.level,
        campaign=campaign,
        campaign_label=campaign.label if campaign is not None else None,
        division_code=row.division_code,
        city_code=row.city_code,
        industries=list(row.industries),
        host_kind=row.host_kind,
        host_ref=row.host_ref,
        host_name=row.host_name,
        venue=row.venue,
        timezone=row.timezone,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        rrule=row.rrule,
        capacity=row.capacity,
        registration_opens_at=row.registration_opens_at,
        registration_closes_at=row.registration_closes_at,
        approval_required=row.approval_required,
        status=ActivityStatus(row.status),
        status_label=ActivityStatus(row.status).label,
        cancel_reason=row.cancel_reason,
        outcome=OutcomeRead(**row.outcome) if row.outcome is not None else None,
        occurrences=[OccurrenceRead.model_validate(o) for o in occurrences],
        warnings=[
            Warning(
                code="double_booked",
                detail=c.detail,
                activity_id=c.theirs.activity_id,
                starts_at=c.ours.starts_at,
            )
            for c in clashes
        ],
    )


_AS_IS = len(LISTED_AS_IS)
_OCCURRENCE = _AS_IS + len(LISTED_RENDERED)  # where an occurrence's columns start in a row
_KIND_LABELS = {kind.value: kind.label for kind in ActivityKind}
_CAMPAIGN_LABELS = {campaign.value: campaign.label for campaign in Campaign}
_STATUS_LABELS = {status.value: status.label for status in ActivityStatus}
# A value outside the terms fails as the enum would (``ValueError``): ``labels.get(v) or E(v)``.


def listed_activity_fields(listed: ListedActivity) -> dict[str, Any]:
    """What ``activity_view`` shows (without warnings: the list checks no clashes), as plain
    data for ``PageParams.response``, read by position from the list's rows
    (``repository.listed_activities``): no model built or validated, no column looked up by
    name. ``test_activity_list.py`` holds it to ``ActivityRead`` on a varied page."""
    row = listed.rows[0]
    fields: dict[str, Any] = dict(zip(LISTED_AS_IS, row, strict=False))
    kind, campaign, status, industries, outcome = row[_AS_IS:_OCCURRENCE]
    fields["kind"] = kind
    fields["kind_label"] = _KIND_LABELS.get(kind) or ActivityKind(kind).label
    fields["campaign"] = fields["campaign_label"] = campaign
    if campaign is not None:
        fields["campaign_label"] = _CAMPAIGN_LABELS.get(campaign) or Campaign(campaign).label
    fields["industries"] = list(industries)
    fields["status"] = status
    fields["status_label"] = _STATUS_LABELS.get(status) or ActivityStatus(status).label
    fields["outcome"] = plain_fields(OutcomeRead, outcome) if outcome is not None else None
    at = _OCCURRENCE
    fields["occurrences"] = [
        {
            "key": r[at],
            "starts_at": r[at + 1],
            "ends_at": r[at + 2],
            "moved": r[at + 3],
            "cancelled": r[at + 4],
        }
        for r in listed.rows
        if r[at] is not None  # the outer join's row of an activity without occurrences
    ]
    fields["warnings"] = []
    return fields


def registration_view(row: Registration) -> RegistrationRead:
    """A decided registration."""
    return RegistrationRead(
        id=row.id,
        owner_node=row.owner_node,
        activity_id=row.activity_id,
        occurrence_key=row.occurrence_key,
        participant_kind=row.participant_kind,
        participant_id=row.participant_id,
        participant_name=row.participant_name,
        requester_node=row.requester_node,
        status=RegistrationStatus(row.status),
        status_label=RegistrationStatus(row.status).label,
        seq=row.seq,
        hr_managers=row.hr_managers,
        attendees=row.attendees,
        reason_code=row.reason_code,
        reason=row.reason,
        checked_in_at=row.checked_in_at,
        version=row.version,
        updated_at=row.updated_at,
    )


PENDING_DECISION = "pending_decision"
_PENDING_LABEL = "待主办节点决定"


def requested_view(
    request: Request, ask: RegistrationAsk, *, requester_node: str
) -> RegistrationRead:
    """A request just sent: the owner node has not decided it yet."""
    return RegistrationRead(
        id=request.id,
        owner_node=request.owner_node,
        activity_id=request.target_id,
        occurrence_key=ask.occurrence_key,
        participant_kind=ParticipantKind(ask.participant_kind),
        participant_id=ask.participant_id,
        requester_node=requester_node,
        status=PENDING_DECISION,
        status_label=_PENDING_LABEL,
        hr_managers=ask.hr_managers,
    )


def request_view(request: Request, *, requester_node: str) -> RegistrationRead:
    """A request this node sent whose registration it does not hold (yet): pending, or refused
    before any registration existed (e.g. ``unknown_target``)."""
    decided = request.status != PENDING
    rejected = decided and request.outcome == Outcome.REJECTED
    status = str(RegistrationStatus.REJECTED) if rejected else PENDING_DECISION
    return RegistrationRead(
        id=request.id,
        owner_node=request.owner_node,
        activity_id=request.target_id,
        requester_node=requester_node,
        status=status,
        status_label=RegistrationStatus.REJECTED.label if rejected else _PENDING_LABEL,
        reason_code=request.reason,
        reason=request.reason_text,
        updated_at=request.updated_at,
    )
