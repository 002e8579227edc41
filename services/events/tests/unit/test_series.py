"""Occurrences of a series: RRULE in Sichuan wall time, keys, overrides, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shulian_events.domain import series
from shulian_events.domain.errors import InvalidRecurrence, InvalidSchedule, UnknownOccurrence

START = datetime.fromisoformat("2025-03-01T09:00:00+08:00")
END = START + timedelta(hours=3)


def test_a_weekly_series_expands_in_local_time_with_keys_in_utc() -> None:
    found = series.expand(START, END, "FREQ=WEEKLY;COUNT=4")
    assert [o.key for o in found] == [
        "20250301T010000Z",
        "20250308T010000Z",
        "20250315T010000Z",
        "20250322T010000Z",
    ]
    assert all(o.ends_at - o.starts_at == timedelta(hours=3) for o in found)
    assert found[0].starts_at == START.astimezone(UTC)


def test_one_moved_and_one_cancelled_occurrence() -> None:
    moved_to = datetime.fromisoformat("2025-03-09T14:00:00+08:00")
    overrides = {
        "20250308T010000Z": series.Override(
            starts_at=moved_to, ends_at=moved_to + timedelta(hours=2)
        ),
        "20250315T010000Z": series.Override(cancelled=True, reason="场地检修"),
    }
    found = series.expand(START, END, "FREQ=WEEKLY;COUNT=4", overrides)
    assert [(o.key, o.moved, o.cancelled) for o in found] == [
        ("20250301T010000Z", False, False),
        ("20250308T010000Z", True, False),
        ("20250315T010000Z", False, True),
        ("20250322T010000Z", False, False),
    ]
    assert found[1].starts_at == moved_to.astimezone(UTC)


def test_a_single_activity_has_one_occurrence_named_once() -> None:
    [only] = series.expand(START, END, None)
    assert (only.key, only.starts_at, only.cancelled) == (series.ONCE, START.astimezone(UTC), False)


def test_until_bounds_a_series() -> None:
    found = series.expand(START, END, "FREQ=DAILY;UNTIL=20250305T235959Z")
    assert len(found) == 5


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY",  # unbounded
        "FREQ=SOMETIMES;COUNT=2",
        "DTSTART:20250301T010000Z\nRRULE:FREQ=DAILY;COUNT=2",
        "FREQ=DAILY;COUNT=500",  # too many
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=3",  # never happens
    ],
)
def test_rules_we_do_not_keep_are_refused(rule: str) -> None:
    with pytest.raises(InvalidRecurrence) as refused:
        series.expand(START, END, rule)
    assert refused.value.status == 422


def test_times_need_an_offset_an_order_and_a_sane_length() -> None:
    with pytest.raises(InvalidSchedule):
        series.check_times(START.replace(tzinfo=None), END)
    with pytest.raises(InvalidSchedule):
        series.check_times(END, START)
    with pytest.raises(InvalidSchedule):
        series.check_times(START, START + timedelta(days=15))
    series.check_times(START, END)


def test_find_names_the_missing_occurrence() -> None:
    found = series.expand(START, END, "FREQ=WEEKLY;COUNT=2")
    assert series.find(found, "20250308T010000Z").key == "20250308T010000Z"
    with pytest.raises(UnknownOccurrence) as missing:
        series.find(found, "20250309T010000Z")
    assert missing.value.status == 404
