"""The order lifecycle as a pure state machine: its whole transition matrix."""

from __future__ import annotations

import pytest

from shulian_matching.domain.errors import IllegalTransition, InvalidOrder
from shulian_matching.domain.orders import (
    OrderAction,
    OrderKind,
    OrderStatus,
    Visibility,
    changes_terms,
    check_shape,
    next_status,
    visible_to,
)

S, A = OrderStatus, OrderAction
# (status, action) → status after it, for an order with 2 slots of which 1 is awarded.
ALLOWED = {
    (S.OPEN, A.AWARD_SLOT): S.AWARDED,
    (S.OPEN, A.RELEASE_SLOT): S.OPEN,
    (S.OPEN, A.EDIT): S.OPEN,
    (S.OPEN, A.EXPIRE): S.EXPIRED,
    (S.OPEN, A.CANCEL): S.CANCELLED,
    (S.AWARDED, A.RELEASE_SLOT): S.OPEN,
    (S.AWARDED, A.START_SERVICE): S.IN_SERVICE,
    (S.AWARDED, A.CANCEL): S.CANCELLED,
    (S.IN_SERVICE, A.FULFIL): S.FULFILLED,
}


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("action", list(OrderAction))
def test_the_transition_matrix(status: OrderStatus, action: OrderAction) -> None:
    expected = ALLOWED.get((status, action))
    if expected is None:
        with pytest.raises(IllegalTransition):
            next_status(status, action, slots=2, awarded=1)
    else:
        assert next_status(status, action, slots=2, awarded=1) is expected


def test_awarding_stays_open_until_the_last_slot() -> None:
    assert next_status(S.OPEN, A.AWARD_SLOT, slots=3, awarded=0) is S.OPEN
    assert next_status(S.OPEN, A.AWARD_SLOT, slots=3, awarded=2) is S.AWARDED
    with pytest.raises(IllegalTransition):
        next_status(S.OPEN, A.AWARD_SLOT, slots=3, awarded=3)


def test_nothing_to_release_without_an_award() -> None:
    with pytest.raises(IllegalTransition):
        next_status(S.OPEN, A.RELEASE_SLOT, slots=1, awarded=0)


def test_only_terms_void_grabs() -> None:
    assert changes_terms({"budget_yuan": 1})
    assert changes_terms({"visibility": "province"})
    assert not changes_terms({"title": "新标题"})


def _shape(**extra: object) -> None:
    values: dict[str, object] = {
        "kind": OrderKind.SERVICE,
        "service_line": "recruitment",
        "head_count": 10,
        "slots": 1,
        "visibility": Visibility.OWN_CITY,
        "visible_cities": [],
        "own_city": "511500",
        **extra,
    }
    check_shape(**values)  # type: ignore[arg-type]


def test_shapes() -> None:
    _shape()
    _shape(visibility=Visibility.LISTED_CITIES, visible_cities=["511500", "510100"])
    _shape(kind=OrderKind.JOB, service_line=None, slots=10)
    bad: list[dict[str, object]] = [
        {"service_line": None},
        {"kind": OrderKind.JOB},
        {"kind": OrderKind.JOB, "service_line": None, "slots": 3},
        {"slots": 11},
        {"visibility": Visibility.LISTED_CITIES},
        {"visibility": Visibility.LISTED_CITIES, "visible_cities": ["510100"]},
        {"visible_cities": ["510100"]},
    ]
    for extra in bad:
        with pytest.raises(InvalidOrder):
            _shape(**extra)


def test_visibility() -> None:
    own = {"order_city": "511500", "visible_cities": ["511500", "510100"]}
    assert visible_to(visibility=Visibility.PROVINCE, city="513400", **own)  # type: ignore[arg-type]
    assert visible_to(visibility=Visibility.OWN_CITY, city="511500", **own)  # type: ignore[arg-type]
    assert not visible_to(visibility=Visibility.OWN_CITY, city="510100", **own)  # type: ignore[arg-type]
    assert visible_to(visibility=Visibility.LISTED_CITIES, city="510100", **own)  # type: ignore[arg-type]
    assert not visible_to(visibility=Visibility.LISTED_CITIES, city="510500", **own)  # type: ignore[arg-type]
