"""The iCalendar rendering parsed back by ``icalendar`` and expanded with ``dateutil``: a series
with one moved and one cancelled occurrence lands on the expected dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from icalendar import Calendar

from shulian_events import ical
from shulian_events.testing import expand_ics as expand

START = datetime.fromisoformat("2025-03-01T09:00:00+08:00")
MOVED = datetime.fromisoformat("2025-03-09T14:00:00+08:00")


def _activity(**extra: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "id": "a" * 32,
        "owner_node": "511500",
        "version": 3,
        "updated_at": datetime(2025, 2, 1, tzinfo=UTC),
        "title": "宜宾动力电池产业园区行",
        "kind": "park_tour",
        "campaign": "spring_breeze",
        "division_code": "511500",
        "capacity": 40,
        "host_name": "宜宾三江新区",
        "industries": ["power_batteries"],
        "venue": "宜宾三江新区管委会",
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
        "rrule": "FREQ=WEEKLY;COUNT=4",
        "overrides": [
            {
                "key": "20250308T010000Z",
                "starts_at": MOVED.isoformat(),
                "ends_at": (MOVED + timedelta(hours=2)).isoformat(),
                "cancelled": False,
            },
            {"key": "20250315T010000Z", "starts_at": None, "ends_at": None, "cancelled": True},
        ],
        "status": "rescheduled",
    }
    values.update(extra)
    return SimpleNamespace(**values)


def test_a_series_with_one_moved_and_one_cancelled_occurrence_round_trips() -> None:
    text = ical.calendar([_activity()], name="测试日历")
    cal = Calendar.from_ical(text)

    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Asia/Shanghai"
    master, moved = cal.walk("VEVENT")
    assert master["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert str(master["UID"]) == str(moved["UID"]) == f"{'a' * 32}@shulian.sichuan"
    assert moved["RECURRENCE-ID"].dt == datetime.fromisoformat("2025-03-08T09:00:00+08:00")
    assert expand(text) == [
        START,
        MOVED,
        datetime.fromisoformat("2025-03-22T09:00:00+08:00"),
    ]
    assert str(master["SUMMARY"]) == "宜宾动力电池产业园区行"
    assert "园区行" in master["CATEGORIES"].to_ical().decode()


def test_a_single_activity_and_a_cancelled_one() -> None:
    single = _activity(id="b" * 32, rrule=None, overrides=[], status="scheduled")
    cancelled = _activity(id="c" * 32, rrule=None, overrides=[], status="cancelled")
    text = ical.calendar([single, cancelled], name="测试日历")
    events = Calendar.from_ical(text).walk("VEVENT")
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert expand(text) == [START, START]
