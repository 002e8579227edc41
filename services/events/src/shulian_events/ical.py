"""iCalendar (RFC 5545) rendering of activities, for subscription from any calendar app.

One VEVENT per activity (UID ``{id}@shulian.sichuan``), in Asia/Shanghai wall time with its
VTIMEZONE; a series carries its RRULE, an EXDATE per cancelled occurrence, and one more VEVENT
with the same UID and a RECURRENCE-ID per moved occurrence. A cancelled activity stays in the
feed with STATUS:CANCELLED, so subscribed calendars drop it instead of keeping a stale copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from typing import Any

from icalendar import Calendar, Event, Timezone, vRecur

from shulian_events.domain import series
from shulian_events.domain.lifecycle import ActivityStatus
from shulian_events.domain.terms import TIMEZONE, ActivityKind, Campaign

PRODID = "-//Sichuan HRSS//Shulian events//ZH"
UID_DOMAIN = "shulian.sichuan"
MEDIA_TYPE = "text/calendar; charset=utf-8"


@cache
def _vtimezone() -> bytes:
    """Asia/Shanghai as a VTIMEZONE: China Standard Time, no daylight saving since 1991."""
    zone = Timezone.from_tzid(TIMEZONE, first_date=date(2000, 1, 1), last_date=date(2100, 1, 1))
    return bytes(zone.to_ical())


def calendar(activities: Iterable[Any], *, name: str) -> bytes:
    """The activities (ORM rows or anything with their fields) as one iCalendar file."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", TIMEZONE)
    head, end = bytes(cal.to_ical()).rsplit(_END, 1)
    body = b"".join(_rendered(a.id, a.version, a.updated_at, a) for a in activities)
    return head + _vtimezone() + body + _END + end


_END = b"END:VCALENDAR"


def _rendered(activity_id: str, version: int, updated_at: datetime, activity: Any) -> bytes:
    """An activity's VEVENTs, rendered once per version: rendering is most of a feed's cost,
    and a version of an activity never changes (replicas too: their upserts are version-gated)."""
    key = (activity_id, version, updated_at)
    found = _CACHE.get(key)
    if found is None:
        found = b"".join(bytes(e.to_ical()) for e in events_of(activity))
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = found
    return found


_CACHE: dict[tuple[str, int, datetime], bytes] = {}
_CACHE_SIZE = 50_000


def events_of(activity: Any) -> list[Event]:
    """The VEVENTs of one activity: the master, and one per moved occurrence of a series."""
    found = series.expand(
        activity.starts_at, activity.ends_at, activity.rrule, _overrides(activity)
    )
    master = _event(activity, activity.starts_at, activity.ends_at)
    if activity.rrule is None:
        if found[0].cancelled:
            master["status"] = "CANCELLED"
        return [master]
    master.add("rrule", vRecur.from_ical(activity.rrule.removeprefix("RRULE:")))
    cancelled = [_local(_original(o.key)) for o in found if o.cancelled]
    if cancelled:
        master.add("exdate", cancelled)
    moved = []
    for occurrence in found:
        if occurrence.moved and not occurrence.cancelled:
            event = _event(activity, occurrence.starts_at, occurrence.ends_at)
            event.add("recurrence-id", _local(_original(occurrence.key)))
            moved.append(event)
    return [master, *moved]


def _overrides(activity: Any) -> dict[str, series.Override]:
    result = {}
    for o in activity.overrides:
        data = o if isinstance(o, dict) else o.model_dump()
        result[data["key"]] = series.Override(
            starts_at=_when(data.get("starts_at")),
            ends_at=_when(data.get("ends_at")),
            cancelled=bool(data.get("cancelled")),
        )
    return result


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _original(key: str) -> datetime:
    return datetime.strptime(key, "%Y%m%dT%H%M%S%z")


def _local(moment: datetime) -> datetime:
    return moment.astimezone(series.ZONE)


def _event(activity: Any, starts_at: datetime, ends_at: datetime) -> Event:
    event = Event()
    event.add("uid", f"{activity.id}@{UID_DOMAIN}")
    event.add("dtstamp", activity.updated_at)
    event.add("sequence", activity.version)
    event.add("dtstart", _local(starts_at))
    event.add("dtend", _local(ends_at))
    event.add("summary", activity.title)
    event.add("location", activity.venue)
    event.add("description", _description(activity))
    categories = [ActivityKind(activity.kind).label]
    if activity.campaign is not None:
        categories.append(Campaign(activity.campaign).label)
    event.add("categories", categories)
    cancelled = activity.status == ActivityStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def _description(activity: Any) -> str:
    lines = [
        f"类型：{ActivityKind(activity.kind).label}",
        f"主办：{activity.division_code}（节点 {activity.owner_node}）",
        f"名额：每场 {activity.capacity} 个",
    ]
    if activity.host_name:
        lines.append(f"承办：{activity.host_name}")
    if activity.industries:
        lines.append(f"产业：{'、'.join(activity.industries)}")
    return "\n".join(lines)
