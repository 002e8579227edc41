"""A talent applies to an order once at a time; once declined, again only on changed terms."""

from __future__ import annotations

import pytest

from shulian_matching.domain.errors import ApplicationDeclined, DuplicateApplication
from shulian_matching.domain.talents import ApplicationStatus, check_may_apply

APPLIED, DECLINED = ApplicationStatus.APPLIED, ApplicationStatus.DECLINED
PENDING, ACCEPTED = ApplicationStatus.PENDING, ApplicationStatus.ACCEPTED
REJECTED = ApplicationStatus.REJECTED


def test_a_first_application_and_one_after_a_refused_receipt_go_through() -> None:
    check_may_apply([], terms_version=1)
    check_may_apply([(REJECTED, 1)], terms_version=1)  # never reached the placer


@pytest.mark.parametrize("standing", [PENDING, APPLIED, ACCEPTED])
def test_a_standing_application_makes_another_a_duplicate(standing: ApplicationStatus) -> None:
    with pytest.raises(DuplicateApplication):
        check_may_apply([(standing, 1)], terms_version=1)
    with pytest.raises(DuplicateApplication):  # on later terms too: it still stands
        check_may_apply([(DECLINED, 1), (standing, 2)], terms_version=3)


def test_a_decline_holds_until_the_terms_change() -> None:
    with pytest.raises(ApplicationDeclined) as refused:
        check_may_apply([(DECLINED, 2)], terms_version=2)
    assert refused.value.code == "application_declined"
    assert refused.value.extra == {"declined_terms_version": 2, "terms_version": 2}
    check_may_apply([(DECLINED, 2)], terms_version=3)


def test_the_latest_decline_counts() -> None:
    with pytest.raises(ApplicationDeclined):
        check_may_apply([(DECLINED, 1), (DECLINED, 3)], terms_version=3)
    check_may_apply([(DECLINED, 1), (DECLINED, 3)], terms_version=4)
