"""The owner's decision on a grab, as a pure function: eligibility, slots, cap, terms, timing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shulian_matching.domain.grabs import (
    Decision,
    GrabStatus,
    OrderFacts,
    Reason,
    SupplierFacts,
    confirm_by,
    decide,
    decide_confirmation,
    overdue,
    voided_by_edit,
)
from shulian_matching.domain.orders import OrderKind, OrderStatus, Visibility

ORDER = OrderFacts(
    kind=OrderKind.SERVICE,
    status=OrderStatus.OPEN,
    city_code="511500",
    service_line="recruitment",
    industry="power_batteries",
    visibility=Visibility.OWN_CITY,
    visible_cities=(),
    slots=1,
    awarded=0,
    terms_version=1,
)
SUPPLIER = SupplierFacts(
    id="s1",
    city_code="511500",
    listing_status="listed",
    service_lines=frozenset({"recruitment"}),
    industries=frozenset({"power_batteries"}),
)


def _decide(
    order: OrderFacts | None = ORDER,
    supplier: SupplierFacts | None = SUPPLIER,
    *,
    terms: int = 1,
    holds: bool = False,
    awards: int = 0,
) -> Decision:
    return decide(
        order,
        supplier,
        grab_terms_version=terms,
        already_holds=holds,
        active_awards=awards,
        award_cap=3,
    )


def test_an_eligible_grab_takes_a_free_slot() -> None:
    assert _decide() == Decision(GrabStatus.AWARDED)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"order": None}, Reason.ORDER_UNKNOWN),
        ({"order": replace(ORDER, kind=OrderKind.JOB)}, Reason.WRONG_KIND),
        ({"order": replace(ORDER, status=OrderStatus.IN_SERVICE)}, Reason.ORDER_NOT_OPEN),
        ({"order": replace(ORDER, status=OrderStatus.CANCELLED)}, Reason.ORDER_NOT_OPEN),
        ({"supplier": None}, Reason.SUPPLIER_UNKNOWN),
        ({"supplier": replace(SUPPLIER, listing_status="suspended")}, Reason.NOT_LISTED),
        (
            {"supplier": replace(SUPPLIER, service_lines=frozenset({"training"}))},
            Reason.SERVICE_LINE,
        ),
        ({"supplier": replace(SUPPLIER, industries=frozenset())}, Reason.INDUSTRY),
        ({"supplier": replace(SUPPLIER, city_code="510100")}, Reason.NOT_VISIBLE),
        ({"holds": True}, Reason.ALREADY_GRABBED),
        ({"awards": 3}, Reason.CAP_REACHED),
        ({"order": replace(ORDER, awarded=1)}, Reason.NO_SLOT_LEFT),
        ({"order": replace(ORDER, status=OrderStatus.AWARDED, awarded=1)}, Reason.NO_SLOT_LEFT),
    ],
)
def test_each_rejection_names_its_reason(kwargs: dict[str, object], reason: Reason) -> None:
    assert _decide(**kwargs) == Decision(GrabStatus.REJECTED, reason)  # type: ignore[arg-type]


def test_a_grab_on_old_terms_is_voided() -> None:
    assert _decide(order=replace(ORDER, terms_version=2)) == Decision(
        GrabStatus.VOIDED, Reason.TERMS_CHANGED
    )


def test_a_province_order_is_open_to_every_city_and_an_order_without_industry_to_any() -> None:
    far = replace(SUPPLIER, city_code="513400", industries=frozenset())
    order = replace(ORDER, visibility=Visibility.PROVINCE, industry=None)
    assert _decide(order=order, supplier=far).awarded


def test_slots_are_awarded_one_by_one_in_log_order() -> None:
    order = replace(ORDER, slots=2)
    decisions = []
    for _ in range(4):
        decision = _decide(order=order)
        decisions.append(decision.status)
        if decision.awarded:
            order = replace(order, awarded=order.awarded + 1)
    assert decisions == [
        GrabStatus.AWARDED,
        GrabStatus.AWARDED,
        GrabStatus.REJECTED,
        GrabStatus.REJECTED,
    ]


def test_confirmation_only_in_time() -> None:
    decided = datetime(2026, 3, 1, 9, tzinfo=UTC)
    deadline = confirm_by(decided, window_seconds=3600)
    in_time = decide_confirmation(GrabStatus.AWARDED, deadline=deadline, now=deadline)
    late = decide_confirmation(
        GrabStatus.AWARDED, deadline=deadline, now=deadline + timedelta(seconds=1)
    )
    released = decide_confirmation(GrabStatus.RELEASED, deadline=None, now=decided)
    assert in_time.status is GrabStatus.CONFIRMED
    assert (late.status, late.reason) == (GrabStatus.AWARDED, Reason.CONFIRM_LATE)
    assert released.reason is Reason.CONFIRM_LATE
    assert overdue([("a", deadline), ("b", None)], now=deadline + timedelta(seconds=1)) == ["a"]


def test_an_edit_voids_undecided_and_unconfirmed_grabs_only() -> None:
    voided = {s for s in GrabStatus if voided_by_edit(s)}
    assert voided == {GrabStatus.PENDING, GrabStatus.AWARDED}
