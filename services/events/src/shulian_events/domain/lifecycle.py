"""An activity's lifecycle as a pure function: (status, action) → next status.

scheduled → rescheduled (any number of times) → held → completed with an outcome; scheduled or
rescheduled → cancelled with a reason. Completed and cancelled are final. Rescheduling covers a
change of dates of the whole activity and the move or cancellation of one occurrence of a series.
"""

from __future__ import annotations

from enum import StrEnum

from shulian_events.domain.errors import InvalidTransition


class ActivityStatus(StrEnum):
    """Where an activity stands."""

    SCHEDULED = "scheduled"
    RESCHEDULED = "rescheduled"
    HELD = "held"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        """The Chinese name."""
        return _STATUS_LABELS[self]

    @property
    def open(self) -> bool:
        """Whether participants may still register (before completion or cancellation)."""
        return self in _OPEN


class ActivityAction(StrEnum):
    """What an organiser does to an activity."""

    RESCHEDULE = "reschedule"
    HOLD = "hold"
    COMPLETE = "complete"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        """The Chinese name."""
        return _ACTION_LABELS[self]


_STATUS_LABELS = {
    ActivityStatus.SCHEDULED: "已排期",
    ActivityStatus.RESCHEDULED: "已改期",
    ActivityStatus.HELD: "已举办",
    ActivityStatus.COMPLETED: "已办结",
    ActivityStatus.CANCELLED: "已取消",
}
_ACTION_LABELS = {
    ActivityAction.RESCHEDULE: "改期",
    ActivityAction.HOLD: "举办",
    ActivityAction.COMPLETE: "办结",
    ActivityAction.CANCEL: "取消",
}
_OPEN = frozenset({ActivityStatus.SCHEDULED, ActivityStatus.RESCHEDULED, ActivityStatus.HELD})

S, A = ActivityStatus, ActivityAction
TRANSITIONS: dict[tuple[ActivityStatus, ActivityAction], ActivityStatus] = {
    (S.SCHEDULED, A.RESCHEDULE): S.RESCHEDULED,
    (S.SCHEDULED, A.HOLD): S.HELD,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.RESCHEDULED, A.RESCHEDULE): S.RESCHEDULED,
    (S.RESCHEDULED, A.HOLD): S.HELD,
    (S.RESCHEDULED, A.CANCEL): S.CANCELLED,
    (S.HELD, A.COMPLETE): S.COMPLETED,
}


def next_status(status: ActivityStatus, action: ActivityAction) -> ActivityStatus:
    """The status ``action`` leads to from ``status``; ``InvalidTransition`` (409) otherwise."""
    found = TRANSITIONS.get((status, action))
    if found is None:
        raise InvalidTransition(
            f"活动{status.label}，不能{action.label}",
            extra={"status": str(status), "action": str(action)},
        )
    return found
