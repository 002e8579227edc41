"""Registrations as pure functions: the owner node's decision, approval, cancellation with the
waiting list promoted in order, and check-in.

Places are held by ``confirmed`` and ``checked_in`` registrations only; a registration awaiting
approval holds none. The waiting list is ordered by ``seq``, the order in which the owner decided
(the log order of the requests), so promotion is first come, first served across every node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shulian_events.domain.errors import InvalidRegistrationStep


class RegistrationStatus(StrEnum):
    """Where a registration stands."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"

    @property
    def label(self) -> str:
        """The Chinese name."""
        return _LABELS[self]

    @property
    def holds_place(self) -> bool:
        """Whether it counts against capacity."""
        return self in (RegistrationStatus.CONFIRMED, RegistrationStatus.CHECKED_IN)

    @property
    def active(self) -> bool:
        """Whether the participant is still in (so may not register again)."""
        return self not in (RegistrationStatus.REJECTED, RegistrationStatus.CANCELLED)


_LABELS = {
    RegistrationStatus.PENDING: "待审核",
    RegistrationStatus.CONFIRMED: "已确认",
    RegistrationStatus.WAITLISTED: "候补中",
    RegistrationStatus.REJECTED: "未通过",
    RegistrationStatus.CANCELLED: "已取消",
    RegistrationStatus.CHECKED_IN: "已签到",
}
R = RegistrationStatus


class Refusal(StrEnum):
    """Why the owner refused a request; the stable ``reason_code`` of a rejected registration."""

    ACTIVITY_CLOSED = "activity_closed"
    OCCURRENCE_CANCELLED = "occurrence_cancelled"
    OCCURRENCE_OVER = "occurrence_over"
    UNKNOWN_OCCURRENCE = "unknown_occurrence"
    WINDOW_NOT_OPEN = "registration_not_open"
    WINDOW_CLOSED = "registration_closed"
    UNKNOWN_PARTICIPANT = "unknown_participant"
    DELISTED_PARTICIPANT = "delisted_participant"
    ALREADY_REGISTERED = "already_registered"
    NOT_APPROVED = "not_approved"

    @property
    def label(self) -> str:
        """The Chinese reason."""
        return _REFUSALS[self]


_REFUSALS = {
    Refusal.ACTIVITY_CLOSED: "活动已办结或已取消，不再接受报名",
    Refusal.OCCURRENCE_CANCELLED: "该场次已取消",
    Refusal.OCCURRENCE_OVER: "该场次已结束，不再接受报名",
    Refusal.UNKNOWN_OCCURRENCE: "活动没有该场次",
    Refusal.WINDOW_NOT_OPEN: "报名尚未开始",
    Refusal.WINDOW_CLOSED: "报名已截止",
    Refusal.UNKNOWN_PARTICIPANT: "报名单位不在名录中",
    Refusal.DELISTED_PARTICIPANT: "报名机构已出库，不能报名",
    Refusal.ALREADY_REGISTERED: "该单位已报名此场次",
    Refusal.NOT_APPROVED: "主办方未通过报名",
}


@dataclass(frozen=True, slots=True)
class Situation:
    """What the owner knows when it decides one request, all read in the deciding transaction."""

    activity_open: bool
    occurrence_known: bool
    occurrence_cancelled: bool
    occurrence_over: bool  # it has ended (one under way still takes registrations)
    opens_at: datetime | None
    closes_at: datetime | None
    now: datetime
    participant_known: bool
    participant_delisted: bool
    already_registered: bool
    approval_required: bool
    capacity: int
    places_taken: int


@dataclass(frozen=True, slots=True)
class Decision:
    """The status a request gets, and why when refused."""

    status: RegistrationStatus
    refusal: Refusal | None = None


def decide(s: Situation) -> Decision:
    """The owner's decision on one registration request, given everything decided before it."""
    refusal = _refusal(s)
    if refusal is not None:
        return Decision(R.REJECTED, refusal)
    if s.approval_required:
        return Decision(R.PENDING)
    return Decision(place_or_wait(capacity=s.capacity, places_taken=s.places_taken))


def _refusal(s: Situation) -> Refusal | None:
    checks = (
        (not s.activity_open, Refusal.ACTIVITY_CLOSED),
        (not s.occurrence_known, Refusal.UNKNOWN_OCCURRENCE),
        (s.occurrence_cancelled, Refusal.OCCURRENCE_CANCELLED),
        (s.occurrence_over, Refusal.OCCURRENCE_OVER),
        (s.opens_at is not None and s.now < s.opens_at, Refusal.WINDOW_NOT_OPEN),
        (s.closes_at is not None and s.now >= s.closes_at, Refusal.WINDOW_CLOSED),
        (not s.participant_known, Refusal.UNKNOWN_PARTICIPANT),
        (s.participant_delisted, Refusal.DELISTED_PARTICIPANT),
        (s.already_registered, Refusal.ALREADY_REGISTERED),
    )
    return next((refusal for failed, refusal in checks if failed), None)


def place_or_wait(*, capacity: int, places_taken: int) -> RegistrationStatus:
    """Confirmed while places are left, else on the waiting list."""
    return R.CONFIRMED if places_taken < capacity else R.WAITLISTED


def approve(status: RegistrationStatus, *, capacity: int, places_taken: int) -> RegistrationStatus:
    """An approved pending registration takes a place if one is left, else waits."""
    _require(status, {R.PENDING}, "审核通过")
    return place_or_wait(capacity=capacity, places_taken=places_taken)


def reject(status: RegistrationStatus) -> RegistrationStatus:
    """A pending or waiting registration refused by the organiser."""
    _require(status, {R.PENDING, R.WAITLISTED}, "驳回")
    return R.REJECTED


def cancel(status: RegistrationStatus) -> RegistrationStatus:
    """The participant withdraws (not after check-in)."""
    _require(status, {R.PENDING, R.CONFIRMED, R.WAITLISTED}, "取消")
    return R.CANCELLED


ACTIVITY_CANCELLED = "activity_cancelled"  # the reason_code of registrations the organiser's
# cancellation (of the activity, or of their occurrence) cancelled


def cancelled_by_organiser(status: RegistrationStatus) -> bool:
    """Whether a registration is cancelled with its activity or occurrence: those still in and
    not yet checked in (pending approval, confirmed, waiting)."""
    return status in (R.PENDING, R.CONFIRMED, R.WAITLISTED)


def check_in(status: RegistrationStatus) -> RegistrationStatus:
    """A confirmed participant arrives."""
    _require(status, {R.CONFIRMED}, "签到")
    return R.CHECKED_IN


def promote(waiting_in_order: Sequence[str], *, capacity: int, places_taken: int) -> list[str]:
    """Which waiting registrations (ids, in waiting order) take the places now free."""
    free = max(0, capacity - places_taken)
    return list(waiting_in_order[:free])


def _require(status: RegistrationStatus, allowed: set[RegistrationStatus], step: str) -> None:
    if status not in allowed:
        raise InvalidRegistrationStep(
            f"报名{status.label}，不能{step}", extra={"status": str(status)}
        )
