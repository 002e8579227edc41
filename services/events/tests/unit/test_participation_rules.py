"""The owner's decision on a request, approval, cancellation, check-in, and the waiting list."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shulian_events.domain import participation as p
from shulian_events.domain.errors import InvalidRegistrationStep
from shulian_events.domain.participation import Refusal, RegistrationStatus, Situation

R = RegistrationStatus
NOW = datetime(2025, 3, 1, 9, tzinfo=UTC)
OPEN = Situation(
    activity_open=True,
    occurrence_known=True,
    occurrence_cancelled=False,
    occurrence_over=False,
    opens_at=NOW - timedelta(days=1),
    closes_at=NOW + timedelta(days=1),
    now=NOW,
    participant_known=True,
    participant_delisted=False,
    already_registered=False,
    approval_required=False,
    capacity=2,
    places_taken=0,
)


def test_a_place_while_places_are_left_then_the_waiting_list() -> None:
    assert p.decide(OPEN).status is R.CONFIRMED
    assert p.decide(dataclasses.replace(OPEN, places_taken=1)).status is R.CONFIRMED
    full = p.decide(dataclasses.replace(OPEN, places_taken=2))
    assert full == p.Decision(R.WAITLISTED)


def test_approval_holds_no_place_until_approved() -> None:
    assert p.decide(dataclasses.replace(OPEN, approval_required=True)).status is R.PENDING
    assert p.approve(R.PENDING, capacity=2, places_taken=1) is R.CONFIRMED
    assert p.approve(R.PENDING, capacity=2, places_taken=2) is R.WAITLISTED


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"activity_open": False}, Refusal.ACTIVITY_CLOSED),
        ({"occurrence_known": False}, Refusal.UNKNOWN_OCCURRENCE),
        ({"occurrence_cancelled": True}, Refusal.OCCURRENCE_CANCELLED),
        ({"occurrence_over": True}, Refusal.OCCURRENCE_OVER),
        ({"opens_at": NOW + timedelta(seconds=1)}, Refusal.WINDOW_NOT_OPEN),
        ({"closes_at": NOW}, Refusal.WINDOW_CLOSED),
        ({"participant_known": False}, Refusal.UNKNOWN_PARTICIPANT),
        ({"participant_delisted": True}, Refusal.DELISTED_PARTICIPANT),
        ({"already_registered": True}, Refusal.ALREADY_REGISTERED),
    ],
)
def test_each_refusal_rejects_with_its_reason(change: dict[str, object], refusal: Refusal) -> None:
    decision = p.decide(dataclasses.replace(OPEN, **change))  # type: ignore[arg-type]
    assert decision == p.Decision(R.REJECTED, refusal)
    assert refusal.label


def test_refusal_comes_before_approval_and_capacity() -> None:
    situation = dataclasses.replace(
        OPEN, participant_delisted=True, approval_required=True, places_taken=5
    )
    assert p.decide(situation).refusal is Refusal.DELISTED_PARTICIPANT


def test_no_window_means_always_open() -> None:
    assert p.decide(dataclasses.replace(OPEN, opens_at=None, closes_at=None)).status is R.CONFIRMED


def test_promotion_fills_free_places_in_waiting_order() -> None:
    assert p.promote(["a", "b", "c"], capacity=3, places_taken=1) == ["a", "b"]
    assert p.promote(["a", "b"], capacity=3, places_taken=3) == []
    assert p.promote(["a"], capacity=2, places_taken=5) == []


STEPS = {
    "approve": (lambda s: p.approve(s, capacity=1, places_taken=0), {R.PENDING}),
    "reject": (p.reject, {R.PENDING, R.WAITLISTED}),
    "cancel": (p.cancel, {R.PENDING, R.CONFIRMED, R.WAITLISTED}),
    "check_in": (p.check_in, {R.CONFIRMED}),
}


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("status", list(RegistrationStatus))
def test_each_registration_step_from_each_status(step: str, status: RegistrationStatus) -> None:
    apply, allowed = STEPS[step]
    if status in allowed:
        apply(status)
    else:
        with pytest.raises(InvalidRegistrationStep):
            apply(status)


def test_only_confirmed_and_checked_in_hold_places() -> None:
    assert {s for s in RegistrationStatus if s.holds_place} == {R.CONFIRMED, R.CHECKED_IN}
    assert {s for s in RegistrationStatus if not s.active} == {R.REJECTED, R.CANCELLED}
