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


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;COUNT=2;INTERVAL=0",  # dateutil would loop on the same date
        "FREQ=WEEKLY;COUNT=2;UNTIL=20250401T000000Z",  # both bounds (RFC 5545: MUST NOT)
        "FREQ=HOURLY;COUNT=3",  # not how activities repeat
        "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30;COUNT=1",  # minutes of CPU to find nothing
        "FREQ=DAILY;BYMONTH=2,4;BYMONTHDAY=31;COUNT=1",  # no such date
        "FREQ=DAILY;BYMONTHDAY=-32;COUNT=1",
        "FREQ=DAILY;BYSETPOS=2;BYDAY=MO;COUNT=1",  # a day holds one date
        "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3;COUNT=1",
        "FREQ=WEEKLY;BYMONTHDAY=1;COUNT=2",
        "FREQ=WEEKLY;BYDAY=1MO;COUNT=2",  # an ordinal only by month or year
        "FREQ=MONTHLY;BYDAY=6MO;COUNT=2",
        "FREQ=WEEKLY;BYDAY=XX;COUNT=2",
        "FREQ=WEEKLY;BYHOUR=9,14;COUNT=2",  # the time of day is the start's
        "FREQ=WEEKLY;COUNT=abc",
        "FREQ=WEEKLY;COUNT=0",
        "FREQ=WEEKLY;COUNT=201",
        "FREQ=WEEKLY;;COUNT=2",
        "FREQ=WEEKLY;COUNT=2;COUNT=3",
        "",
    ],
)
def test_rules_are_checked_from_their_text_before_anything_expands_them(rule: str) -> None:
    with pytest.raises(InvalidRecurrence) as refused:
        series.check_rule(rule)
    assert refused.value.code == "invalid_recurrence"


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;COUNT=4",
        "RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=4",
        "freq=daily;until=20250305T235959Z",
        "FREQ=MONTHLY;BYDAY=-1FR;COUNT=12",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=6",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=2",  # leap days exist
        "FREQ=YEARLY;BYMONTH=3,9;BYDAY=2SA;INTERVAL=1;UNTIL=20271231T000000Z;WKST=MO",
    ],
)
def test_rules_activities_use_pass_the_check_and_expand(rule: str) -> None:
    series.check_rule(rule)
    assert series.expand(START, END, rule)


def test_a_series_whose_occurrences_overlap_is_refused() -> None:
    overlapping = series.expand(START, START + timedelta(days=2), "FREQ=DAILY;COUNT=3")
    with pytest.raises(InvalidRecurrence):
        series.check_apart(overlapping)
    series.check_apart(series.expand(START, END, "FREQ=DAILY;COUNT=3"))
    moved_onto_the_first = {
        "20250308T010000Z": series.Override(starts_at=START, ends_at=END),
    }
    with pytest.raises(InvalidRecurrence):
        series.check_apart(series.expand(START, END, "FREQ=WEEKLY;COUNT=2", moved_onto_the_first))
    cancelled = {"20250302T010000Z": series.Override(cancelled=True)}
    series.check_apart(  # a cancelled occurrence takes no time
        [*series.expand(START, END, "FREQ=DAILY;COUNT=2", cancelled)][::-1]
    )


def test_a_registration_window_opens_before_the_last_start_and_closes_by_the_last_end() -> None:
    weekly = series.expand(START, END, "FREQ=WEEKLY;COUNT=2")  # the last: 8 March, 09:00-12:00
    last_start = START + timedelta(days=7)
    series.check_window(START - timedelta(days=30), START - timedelta(days=1), weekly)
    series.check_window(START + timedelta(days=1), last_start, weekly)  # for the second one
    series.check_window(None, None, weekly)
    refused = [
        (last_start, None),  # opens as the last one starts: nobody could register
        (None, last_start + timedelta(hours=3, minutes=1)),  # closes after it ended
        (START - timedelta(days=1), START - timedelta(days=2)),  # closes before it opens
        (START.replace(tzinfo=None) - timedelta(days=1), None),  # no offset
        (None, START.replace(tzinfo=None)),
    ]
    for opens_at, closes_at in refused:
        with pytest.raises(InvalidSchedule):
            series.check_window(opens_at, closes_at, weekly)


def test_times_fall_in_the_years_a_calendar_plans_for() -> None:
    for year in (1, 1999, 2100):
        with pytest.raises(InvalidSchedule):
            series.check_times(START.replace(year=year), END.replace(year=year))
