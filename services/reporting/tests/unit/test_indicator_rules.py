"""Pace and status: the rules behind 达标 / 进度正常 / 滞后, row by row."""

from __future__ import annotations

from datetime import date

import pytest

from shulian_reporting.domain.indicators import (
    INDICATORS,
    Period,
    Status,
    elapsed_fraction,
    expected_at,
    indicator,
    report_date,
    status_of,
)

DIRECTORY = indicator("directory_suppliers")  # cumulative, ≥ 500
PLATFORMS = indicator("platforms")  # cumulative, > 2000
SHARE = indicator("high_end_share")  # a level, > 35 %


def test_the_table_has_every_row_of_the_domain_table_once() -> None:
    assert len(INDICATORS) == 20
    assert len({i.code for i in INDICATORS}) == 20
    assert {i.source.value for i in INDICATORS} == {"registry", "events"}


@pytest.mark.parametrize(
    ("period", "year", "day", "fraction"),
    [
        (Period.CUMULATIVE, 2024, date(2023, 9, 20), 0.0),
        (Period.CUMULATIVE, 2024, date(2024, 6, 30), 284 / 833),
        (Period.CUMULATIVE, 2026, date(2026, 1, 1), 1.0),
        (Period.YEARLY, 2024, date(2024, 1, 1), 0.0),
        (Period.YEARLY, 2024, date(2024, 7, 1), 182 / 365),
        (Period.YEARLY, 2024, date(2024, 12, 31), 1.0),
    ],
)
def test_elapsed_fraction(period: Period, year: int, day: date, fraction: float) -> None:
    assert elapsed_fraction(period, year, day) == pytest.approx(fraction)


def test_a_report_stands_at_today_within_its_year_else_at_its_last_day() -> None:
    assert report_date(2024, date(2024, 5, 1)) == date(2024, 5, 1)
    assert report_date(2024, date(2026, 5, 1)) == date(2024, 12, 31)
    assert report_date(2026, date(2024, 5, 1)) == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("ind", "actual", "target", "expected", "status"),
    [
        (DIRECTORY, 500, 500, 200, Status.MET),  # 不少于: reaching it is enough
        (DIRECTORY, 499, 500, 200, Status.ON_TRACK),
        (DIRECTORY, 200, 500, 200, Status.ON_TRACK),  # exactly at pace
        (DIRECTORY, 199, 500, 200, Status.BEHIND),
        (PLATFORMS, 2000, 2000, 2000, Status.BEHIND),  # 超过: 2000 is not more than 2000
        (PLATFORMS, 2001, 2000, 2000, Status.MET),
        (SHARE, 35, 35, 35, Status.BEHIND),  # a share has no pace: met or behind
        (SHARE, 35.5, 35, 35, Status.MET),
        (DIRECTORY, 10, None, None, Status.NO_TARGET),
    ],
)
def test_status(
    ind: object, actual: float, target: float | None, expected: float | None, status: Status
) -> None:
    assert status_of(ind, actual=actual, target=target, expected=expected) is status  # type: ignore[arg-type]


def test_a_share_is_expected_at_its_target_all_along() -> None:
    assert expected_at(SHARE, 35, 2024, date(2024, 1, 2)) == 35
    assert expected_at(DIRECTORY, 500, 2024, date(2024, 6, 30)) == pytest.approx(500 * 284 / 833)


def test_the_labels_officials_read() -> None:
    assert [s.label for s in Status] == ["达标", "进度正常", "滞后", "未设目标", "暂无数据来源"]
