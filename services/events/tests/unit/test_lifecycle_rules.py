"""The activity lifecycle: every (status, action) pair of the matrix, allowed or refused."""

from __future__ import annotations

import itertools

import pytest

from shulian_events.domain.errors import InvalidTransition
from shulian_events.domain.lifecycle import ActivityAction, ActivityStatus, next_status

S, A = ActivityStatus, ActivityAction
ALLOWED = {
    (S.SCHEDULED, A.RESCHEDULE): S.RESCHEDULED,
    (S.SCHEDULED, A.HOLD): S.HELD,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.RESCHEDULED, A.RESCHEDULE): S.RESCHEDULED,
    (S.RESCHEDULED, A.HOLD): S.HELD,
    (S.RESCHEDULED, A.CANCEL): S.CANCELLED,
    (S.HELD, A.COMPLETE): S.COMPLETED,
}
PAIRS = list(itertools.product(ActivityStatus, ActivityAction))


@pytest.mark.parametrize(("status", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_each_step_is_allowed_exactly_where_the_matrix_says(
    status: ActivityStatus, action: ActivityAction
) -> None:
    expected = ALLOWED.get((status, action))
    if expected is None:
        with pytest.raises(InvalidTransition) as refused:
            next_status(status, action)
        assert refused.value.status == 409
        assert refused.value.code == "invalid_transition"
        assert status.label in refused.value.detail
    else:
        assert next_status(status, action) is expected


def test_completed_and_cancelled_are_final_and_close_registration() -> None:
    for final in (S.COMPLETED, S.CANCELLED):
        assert not any((final, action) in ALLOWED for action in ActivityAction)
        assert not final.open
    assert all(s.open for s in (S.SCHEDULED, S.RESCHEDULED, S.HELD))


def test_every_status_and_action_has_a_chinese_label() -> None:
    assert {s.label for s in ActivityStatus} == {"已排期", "已改期", "已举办", "已办结", "已取消"}
    assert all(a.label for a in ActivityAction)
