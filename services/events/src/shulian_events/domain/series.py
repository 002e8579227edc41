"""Occurrences of an activity: one, or an RFC 5545 RRULE series with per-occurrence overrides.

A series is expanded in wall-clock time of Asia/Shanghai from its first start. Each occurrence is
named by its *key*, the original start in UTC (``20250301T010000Z``, also its RECURRENCE-ID), so
a moved occurrence keeps its key and its registrations; a single activity's one occurrence is
``once``. A series must be bounded (COUNT or UNTIL) and yields at most ``MAX_OCCURRENCES``.
"""

from __future__ import annotations

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
    """Refuse naive times, an end not after the start, or an activity longer than two weeks."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidSchedule("开始和结束时间须带时区（如 +08:00）")
    if ends_at <= starts_at:
        raise InvalidSchedule("结束时间须晚于开始时间")
    if ends_at - starts_at > MAX_DURATION:
        raise InvalidSchedule("单场活动不能超过 14 天")


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
