"""Scores add up from their terms; masking; application decisions within the head count."""

from __future__ import annotations

import pytest

from shulian_matching.domain.errors import HeadCountReached, IllegalTransition
from shulian_matching.domain.ranking import SUPPLIER_WEIGHTS, rank, score_supplier, score_talent
from shulian_matching.domain.talents import (
    ApplicationStatus,
    PersonalData,
    decide_application,
    is_occupation,
    shown_to,
)


def test_weights_sum_to_one_and_scores_are_their_points() -> None:
    assert sum(SUPPLIER_WEIGHTS.values()) == pytest.approx(1.0)
    ranked = score_supplier(
        "s",
        supplier_city="510100",
        order_city="511500",
        serves_industry=True,
        active_awards=1,
        award_cap=4,
    )
    assert ranked.score == pytest.approx(0.35 + 0.25 + 0.1 * 0.75)
    assert ranked.missing == ["与订单同城", "与订单同属一个经济区"]
    assert ranked.score == pytest.approx(sum(t.points for t in ranked.terms))


def test_same_region_counts_and_ties_break_on_id() -> None:
    luzhou = score_supplier(
        "b",
        supplier_city="510500",
        order_city="511500",
        serves_industry=True,
        active_awards=0,
        award_cap=4,
    )
    twin = score_supplier(
        "a",
        supplier_city="510500",
        order_city="511500",
        serves_industry=True,
        active_awards=0,
        award_cap=4,
    )
    assert luzhou.score == pytest.approx(0.8)
    assert [r.id for r in rank([luzhou, twin], limit=5)] == ["a", "b"]
    assert rank([luzhou, twin], limit=1) == [twin]


def test_talent_skills_count_by_share() -> None:
    ranked = score_talent(
        "t",
        occupation_matches=True,
        talent_skills=["电工"],
        order_skills=["电工", "焊接"],
        same_city=False,
    )
    assert ranked.score == pytest.approx(0.5 + 0.15)


def test_personal_data_is_masked_except_to_the_talent() -> None:
    data = PersonalData("张三丰", "13800001234", "51150219900101123X")
    assert shown_to(data, viewer_is_talent=True) == data
    assert shown_to(data, viewer_is_talent=False) == PersonalData(
        "张**", "138****1234", "511502********123X"
    )


def test_application_decisions_respect_the_head_count() -> None:
    applied = ApplicationStatus.APPLIED
    accepted = decide_application(applied, accept=True, accepted=0, head_count=1)
    assert accepted is ApplicationStatus.ACCEPTED
    assert decide_application(applied, accept=False, accepted=1, head_count=1) is (
        ApplicationStatus.DECLINED
    )
    with pytest.raises(HeadCountReached):
        decide_application(applied, accept=True, accepted=1, head_count=1)
    with pytest.raises(IllegalTransition):
        decide_application(ApplicationStatus.ACCEPTED, accept=False, accepted=1, head_count=2)


def test_only_the_shipped_occupation_groups_are_known() -> None:
    assert is_occupation("6")
    assert not is_occupation("9")
    assert not is_occupation("6-01-01-01")
