"""The annual summary's state machine, its whole transition matrix, and the 12-20 deadline."""

from __future__ import annotations

from datetime import date

import pytest

from shulian_reporting.domain.summaries import (
    TRANSITIONS,
    IllegalSummaryStep,
    SummaryAction,
    SummaryStatus,
    is_overdue,
    next_status,
)

S, A = SummaryStatus, SummaryAction
ALLOWED = {
    (S.DRAFT, A.EDIT): S.DRAFT,
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.RETURNED, A.EDIT): S.RETURNED,
    (S.RETURNED, A.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, A.APPROVE): S.APPROVED,
    (S.SUBMITTED, A.RETURN): S.RETURNED,
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(A))
def test_transition_matrix(status: SummaryStatus, action: SummaryAction) -> None:
    if (status, action) in ALLOWED:
        assert next_status(status, action) is ALLOWED[(status, action)]
    else:
        with pytest.raises(IllegalSummaryStep):
            next_status(status, action)


def test_the_matrix_is_the_one_tested() -> None:
    assert dict(TRANSITIONS) == ALLOWED


@pytest.mark.parametrize(
    ("status", "today", "overdue"),
    [
        (None, date(2024, 12, 20), False),
        (None, date(2024, 12, 21), True),
        (S.DRAFT, date(2024, 12, 21), True),
        (S.RETURNED, date(2025, 1, 5), True),
        (S.SUBMITTED, date(2024, 12, 21), False),
        (S.APPROVED, date(2025, 3, 1), False),
    ],
)
def test_overdue_after_12_20(status: SummaryStatus | None, today: date, overdue: bool) -> None:
    assert is_overdue(status, year=2024, today=today) is overdue
