"""The occurrences of an activity as the events service names them, from its snapshot.

An activity is one occurrence (key ``once``) or a bounded RFC 5545 RRULE series expanded in
Asia/Shanghai wall time from its first start; each occurrence is keyed by its original start in
UTC (``20250301T010000Z``) and an override moves or cancels it (the events service's README,
"Choices"). Reporting counts sessions (场次) by occurrence, on the Sichuan calendar day each one
stands on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]

ONCE = "once"
MAX_OCCURRENCES = 200  # the events service refuses longer series
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Moved:
    """An override of one occurrence: a new start, or cancelled."""

    starts_at: datetime | None = None
    cancelled: bool = False


def occurrence_key(original_start: datetime) -> str:
    """The key of a series occurrence: its original start in UTC, RFC 5545 basic format."""
    return original_start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def standing(
    starts_at: datetime, rule: str | None, overrides: Mapping[str, Moved]
) -> list[tuple[str, date]]:
    """The occurrences that stand (not cancelled), each ``(key, Sichuan day of its start)``."""
    if rule is None:
        starts = [(ONCE, starts_at)]
    else:
        text = rule.strip().removeprefix("RRULE:")
        series = rrulestr(text, dtstart=starts_at.astimezone(SHANGHAI))
        starts = []
        for local_start in series:
            if len(starts) == MAX_OCCURRENCES:
                break
            starts.append((occurrence_key(local_start), local_start))
    found = []
    for key, start in starts:
        moved = overrides.get(key, Moved())
        if moved.cancelled:
            continue
        found.append((key, (moved.starts_at or start).astimezone(SHANGHAI).date()))
    return found
