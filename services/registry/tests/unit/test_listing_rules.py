"""The listing state machine, every (status, action) pair."""

from __future__ import annotations

import pytest

from shulian_registry.domain import (
    IllegalTransition,
    ListingAction,
    ListingScopeMismatch,
    ListingStatus,
    ReasonRequired,
    check_listing_scope,
    next_status,
)

S, A = ListingStatus, ListingAction
ALLOWED = {
    (S.NOT_APPLIED, A.APPLY): S.APPLIED,
    (S.REJECTED, A.APPLY): S.APPLIED,
    (S.DELISTED, A.APPLY): S.APPLIED,
    (S.APPLIED, A.REVIEW): S.UNDER_REVIEW,
    (S.APPLIED, A.REJECT): S.REJECTED,
    (S.UNDER_REVIEW, A.APPROVE): S.LISTED,
    (S.UNDER_REVIEW, A.REJECT): S.REJECTED,
    (S.LISTED, A.SUSPEND): S.SUSPENDED,
    (S.LISTED, A.DELIST): S.DELISTED,
    (S.SUSPENDED, A.REINSTATE): S.LISTED,
    (S.SUSPENDED, A.DELIST): S.DELISTED,
}


@pytest.mark.parametrize("status", list(ListingStatus))
@pytest.mark.parametrize("action", list(ListingAction))
def test_every_transition_is_either_allowed_or_illegal(
    status: ListingStatus, action: ListingAction
) -> None:
    expected = ALLOWED.get((status, action))
    if expected is None:
        with pytest.raises(IllegalTransition) as caught:
            next_status(status, action, "理由")
        assert caught.value.status == 409
        assert caught.value.extra == {"listing_status": status, "action": action}
    else:
        assert next_status(status, action, "理由") is expected


@pytest.mark.parametrize("action", [A.REJECT, A.SUSPEND, A.DELIST])
def test_refusals_need_a_reason(action: ListingAction) -> None:
    status = S.LISTED if action is not A.REJECT else S.APPLIED
    for reason in (None, "", "   "):
        with pytest.raises(ReasonRequired):
            next_status(status, action, reason)


def test_approving_needs_no_reason() -> None:
    assert next_status(S.UNDER_REVIEW, A.APPROVE, None) is S.LISTED


def test_every_status_has_a_chinese_label() -> None:
    assert S.LISTED.label == "已入库"
    assert all(status.label for status in ListingStatus)


def test_an_application_stays_within_the_supplier_s_declared_business() -> None:
    check_listing_scope(
        industries=["power_batteries"],
        fields=["recruitment"],
        supplier_industries=["power_batteries", "liquor_food"],
        supplier_lines=["recruitment"],
    )
    with pytest.raises(ListingScopeMismatch) as caught:
        check_listing_scope(
            industries=["power_batteries", "lantern_making"],
            fields=["headhunting"],
            supplier_industries=["power_batteries"],
            supplier_lines=["recruitment"],
        )
    assert caught.value.extra == {"industries": ["lantern_making"], "fields": ["headhunting"]}
