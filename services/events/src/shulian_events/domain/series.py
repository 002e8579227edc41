"""Occurrences of an activity: one, or an RFC 5545 RRULE series with per-occurrence overrides.

A series is expanded in wall-clock time of Asia/Shanghai from its first start. Each occurrence is
named by its *key*, the original start in UTC (``20250301T010000Z``, also its RECURRENCE-ID), so
a moved occurrence keeps its key and its registrations; a single activity's one occurrence is
``once``. A series must be bounded (COUNT or UNTIL) and yields at most ``MAX_OCCURRENCES``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr  # type: ignore[import-untyped]

from shulian_events.domain.errors import InvalidRecurrence, InvalidSchedule, UnknownOccurrence
from shulian_events.domain.terms import TIMEZONE

ONCE = "once"
MAX_OCCURRENCES = 200
MAX_DURATION = timedelta(days=14)
YEARS = (2000, 2099)  # the years an activity may fall in
ZONE = ZoneInfo(TIMEZONE)


@dataclass(frozen=True, slots=True)
class Override:
    """One occurrence moved (new start and end) or cancelled."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cancelled: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence as it stands: key, times, whether moved or cancelled."""

    key: str
    starts_at: datetime
    ends_at: datetime
    moved: bool = False
    cancelled: bool = False


def occurrence_key(original_start: datetime) -> str:
    """The key of a series occurrence: its original start in UTC, RFC 5545 basic format."""
    return original_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    """Refuse naive times, times outside the years a calendar plans for, an end not after the
    start, or an activity longer than two weeks."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidSchedule("开始和结束时间须带时区（如 +08:00）")
    if not (YEARS[0] <= starts_at.year and ends_at.year <= YEARS[1]):
        raise InvalidSchedule(f"活动时间须在 {YEARS[0]} 年至 {YEARS[1]} 年之间")
    if ends_at <= starts_at:
        raise InvalidSchedule("结束时间须晚于开始时间")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidSchedule("单场活动不能超过 14 天")


def check_window(
    opens_at: datetime | None, closes_at: datetime | None, found: list[Occurrence]
) -> None:
    """Refuse a registration window with naive times, closing before it opens, opening only once
    the last occurrence has started (no one could ever register) or closing after it ended."""
    if any(t is not None and t.tzinfo is None for t in (opens_at, closes_at)):
        raise InvalidSchedule("报名开始和截止时间须带时区（如 +08:00）")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise InvalidSchedule("报名截止时间须晚于报名开始时间")
    last_start = max(o.starts_at for o in found)
    last_end = max(o.ends_at for o in found)
    if opens_at is not None and opens_at >= last_start:
        raise InvalidSchedule("报名开始时间须早于活动（最后一场）开始时间")
    if closes_at is not None and closes_at > last_end:
        raise InvalidSchedule("报名截止时间不能晚于活动（最后一场）结束时间")


def check_rule(rule: str) -> None:
    """Refuse, before expanding it, an RRULE this calendar does not schedule: activities repeat
    by day, week, month or year, bounded by COUNT or UNTIL (not both, RFC 5545), with an
    INTERVAL of at least 1, and BY… parts that some date satisfies. Expanding a rule whose
    parts no date satisfies runs through every candidate up to the year 9999 (a minute-by-minute
    one takes minutes of CPU), so those are refused from the text alone. Only writes check this:
    a replica expands what its owner accepted."""
    parts = _rule_parts(rule.strip().removeprefix("RRULE:"))
    unknown = sorted(parts.keys() - _RULE_PARTS)
    if unknown:
        raise InvalidRecurrence(f"不支持的 RRULE 部分：{'、'.join(unknown)}")
    freq = parts.get("FREQ")
    if freq not in _FREQUENCIES:
        raise InvalidRecurrence("FREQ 须为 DAILY、WEEKLY、MONTHLY 或 YEARLY")
    if ("COUNT" in parts) == ("UNTIL" in parts):
        raise InvalidRecurrence("重复规则须有 COUNT 或 UNTIL 之一（不能无限重复，也不能并用）")
    _integers(parts, "COUNT", 1, MAX_OCCURRENCES)
    _integers(parts, "INTERVAL", 1, 366)
    months = _integers(parts, "BYMONTH", 1, 12) or list(range(1, 13))
    _check_month_days(parts, freq, months)
    _check_week_days(parts, freq)
    _check_set_positions(parts, freq)


_FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_RULE_PARTS = frozenset(
    {"FREQ", "COUNT", "UNTIL", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST"}
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: in a leap year
_WEEKDAYS = frozenset({"MO", "TU", "WE", "TH", "FR", "SA", "SU"})


def _rule_parts(text: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, equals, value = item.partition("=")
        name = name.strip().upper()
        if not equals or not name or not value.strip() or name in parts:
            raise InvalidRecurrence(f"RRULE 片段无效：{item!r}")
        parts[name] = value.strip().upper()
    return parts


def _integers(parts: Mapping[str, str], name: str, low: int, high: int) -> list[int]:
    """The comma-separated integers of part ``name`` (none if absent), each ±[low, high]."""
    if name not in parts:
        return []
    try:
        values = [int(v) for v in parts[name].split(",")]
    except ValueError:
        raise InvalidRecurrence(f"RRULE 的 {name} 须为整数") from None
    signed = name in ("BYMONTHDAY", "BYSETPOS")
    for value in values:
        if not (low <= (abs(value) if signed else value) <= high):
            raise InvalidRecurrence(f"RRULE 的 {name} 须在 {low} 至 {high} 之间")
    return values


def _check_month_days(parts: Mapping[str, str], freq: str, months: list[int]) -> None:
    days = _integers(parts, "BYMONTHDAY", 1, 31)
    if days and freq == "WEEKLY":
        raise InvalidRecurrence("FREQ=WEEKLY 不能与 BYMONTHDAY 同用（RFC 5545）")
    longest = max(_DAYS_IN_MONTH[m - 1] for m in months)
    if days and all(abs(d) > longest for d in days):
        raise InvalidRecurrence("BYMONTHDAY 在所选月份中不存在，重复规则不会产生任何场次")


def _check_week_days(parts: Mapping[str, str], freq: str) -> None:
    for day in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []:
        ordinal, weekday = day[:-2], day[-2:]
        if weekday not in _WEEKDAYS:
            raise InvalidRecurrence(f"RRULE 的 BYDAY 无效：{day}")
        if not ordinal:
            continue
        if freq not in ("MONTHLY", "YEARLY"):
            raise InvalidRecurrence("BYDAY 带序号（如 1MO）只用于 MONTHLY 或 YEARLY（RFC 5545）")
        limit = 5 if freq == "MONTHLY" or "BYMONTH" in parts else 53
        try:
            number = int(ordinal)
        except ValueError:
            raise InvalidRecurrence(f"RRULE 的 BYDAY 无效：{day}") from None
        if not 1 <= abs(number) <= limit:
            raise InvalidRecurrence(f"BYDAY 的序号须在 1 至 {limit} 之间：{day}")


def _check_set_positions(parts: Mapping[str, str], freq: str) -> None:
    """BYSETPOS picks among one period's dates: no further than the period can hold."""
    if "BYSETPOS" not in parts:
        return
    if not parts.keys() & {"BYDAY", "BYMONTHDAY", "BYMONTH"}:
        raise InvalidRecurrence("BYSETPOS 须与 BYDAY、BYMONTHDAY 或 BYMONTH 同用")
    weekdays = len(parts.get("BYDAY", "MO").split(","))
    largest = {"DAILY": 1, "WEEKLY": min(weekdays, 7), "MONTHLY": 31, "YEARLY": 366}[freq]
    _integers(parts, "BYSETPOS", 1, largest)


def parse_rule(rule: str, starts_at: datetime) -> rrule:
    """The RRULE ``rule`` anchored at ``starts_at`` (local time); refuses what we do not keep."""
    text = rule.strip().removeprefix("RRULE:")
    upper = text.upper()
    if "DTSTART" in upper or "\n" in text:
        raise InvalidRecurrence("RRULE 只写规则本身，不含 DTSTART")
    if "COUNT=" not in upper and "UNTIL=" not in upper:
        raise InvalidRecurrence("重复规则须有 COUNT 或 UNTIL，不接受无限重复")
    try:
        parsed = rrulestr(text, dtstart=starts_at.astimezone(ZONE))
    except (ValueError, TypeError) as exc:
        raise InvalidRecurrence(f"RRULE 无法解析：{exc}") from None
    if not isinstance(parsed, rrule):
        raise InvalidRecurrence("只接受一条 RRULE")
    return parsed


def expand(
    starts_at: datetime,
    ends_at: datetime,
    rule: str | None,
    overrides: Mapping[str, Override] | None = None,
) -> list[Occurrence]:
    """Every occurrence, in original order, with the overrides applied."""
    overrides = overrides or {}
    if rule is None:
        override = overrides.get(ONCE, Override())
        return [
            Occurrence(
                ONCE, starts_at.astimezone(UTC), ends_at.astimezone(UTC), False, override.cancelled
            )
        ]
    duration = ends_at - starts_at
    found: list[Occurrence] = []
    for local_start in parse_rule(rule, starts_at):
        if len(found) == MAX_OCCURRENCES:
            raise InvalidRecurrence(f"一个系列最多 {MAX_OCCURRENCES} 场")
        original = local_start.astimezone(UTC)
        key = occurrence_key(original)
        found.append(_apply(key, original, original + duration, overrides.get(key)))
    if not found:
        raise InvalidRecurrence("重复规则没有产生任何场次")
    return found


def check_apart(found: list[Occurrence]) -> None:
    """Refuse a series whose occurrences, as scheduled, overlap one another (each is a session
    of its own, with its own places): the next starts only after the one before it ended."""
    ordered = sorted(found, key=lambda o: o.starts_at)
    for before, after in itertools.pairwise(ordered):
        if not before.cancelled and not after.cancelled and after.starts_at < before.ends_at:
            raise InvalidRecurrence(
                "系列活动的场次时间重叠：请缩短单场时长或拉开重复间隔",
                extra={"occurrence_key": after.key},
            )


def _apply(key: str, start: datetime, end: datetime, override: Override | None) -> Occurrence:
    if override is None:
        return Occurrence(key, start, end)
    moved = override.starts_at is not None and override.ends_at is not None
    return Occurrence(
        key,
        override.starts_at.astimezone(UTC) if override.starts_at is not None else start,
        override.ends_at.astimezone(UTC) if override.ends_at is not None else end,
        moved,
        override.cancelled,
    )


def find(occurrences: list[Occurrence], key: str) -> Occurrence:
    """The occurrence with ``key``; ``UnknownOccurrence`` (404) otherwise."""
    for occurrence in occurrences:
        if occurrence.key == key:
            return occurrence
    raise UnknownOccurrence(f"活动没有场次 {key}", extra={"occurrence_key": key})


def local_date_of(moment: datetime) -> str:
    """The calendar date of ``moment`` in Sichuan, ISO."""
    return moment.astimezone(ZONE).date().isoformat()
