"""Every query of the calendar, and only queries. Repositories flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Row, Select, bindparam, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shulian_events.domain.participation import RegistrationStatus
from shulian_events.domain.series import Occurrence as Slot
from shulian_events.orm import Activity, ActivityIndustry, Occurrence, Participant, Registration

_HOLDING = [str(RegistrationStatus.CONFIRMED), str(RegistrationStatus.CHECKED_IN)]
_INACTIVE = [str(RegistrationStatus.REJECTED), str(RegistrationStatus.CANCELLED)]


def _dialect(session: AsyncSession) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


# --- activities ---------------------------------------------------------------------------------


async def lock_activity(session: AsyncSession, activity_id: str) -> Activity | None:
    """The activity, locked for this transaction (PostgreSQL), so decisions on it serialise."""
    stmt = select(Activity).where(Activity.id == activity_id).with_for_update()
    return await session.scalar(stmt)


async def replace_occurrences(
    session: AsyncSession, activity_id: str, occurrences: Iterable[Slot]
) -> None:
    """Make the activity's occurrence rows exactly ``occurrences``."""
    await session.execute(delete(Occurrence).where(Occurrence.activity_id == activity_id))
    rows = [
        {
            "activity_id": activity_id,
            "key": o.key,
            "starts_at": o.starts_at,
            "ends_at": o.ends_at,
            "moved": o.moved,
            "cancelled": o.cancelled,
        }
        for o in occurrences
    ]
    if rows:
        await session.execute(insert(Occurrence), rows)


async def replace_industries(
    session: AsyncSession, activity_id: str, industries: Iterable[str]
) -> None:
    """Index the activity under exactly ``industries`` (the industry filter reads this)."""
    await session.execute(
        delete(ActivityIndustry).where(ActivityIndustry.activity_id == activity_id)
    )
    rows = [{"activity_id": activity_id, "industry": code} for code in sorted(set(industries))]
    if rows:
        await session.execute(insert(ActivityIndustry), rows)


async def upsert_activity(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert or replace a replicated activity unless one as new is held; ``True`` if written."""
    return await _upsert(session, Activity.__table__, values, ["id"])


async def _upsert(
    session: AsyncSession, table: Any, values: Mapping[str, Any], keys: list[str]
) -> bool:
    stmt = _dialect(session).insert(table).values(**values)
    # Only a newer snapshot wins: redeliveries, replays and late old events change nothing.
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={name: stmt.excluded[name] for name in values if name not in keys},
        where=table.c.version < stmt.excluded.version,
    )
    result = await session.execute(upsert)
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """What a list or a calendar feed keeps."""

    starts_before: datetime | None = None
    ends_after: datetime | None = None
    city_code: str | None = None
    division_code: str | None = None
    kind: str | None = None
    level: str | None = None
    campaign: str | None = None
    industry: str | None = None
    status: str | None = None
    owner_node: str | None = None

    def parameters(self) -> dict[str, Any]:
        """The values set, by field name: the parameters of ``_filtered``'s statement."""
        return {name: value for name in _FILTERS if (value := getattr(self, name)) is not None}


# ActivityFilter's fields, in the order their conditions are added; equal ones compare a column.
_FILTERS = (
    *("city_code", "division_code", "kind", "level", "campaign", "status", "owner_node"),
    *("industry", "starts_before", "ends_after"),
)
_EQUAL = {
    "city_code": Activity.city_code,
    "division_code": Activity.division_code,
    "kind": Activity.kind,
    "level": Activity.level,
    "campaign": Activity.campaign,
    "status": Activity.status,
    "owner_node": Activity.owner_node,
}


def _conditions(names: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The conditions on ``Activity`` of a filter setting ``names``, values as parameters."""
    conditions = [_EQUAL[name] == bindparam(name) for name in names if name in _EQUAL]
    if "industry" in names:
        tagged = select(ActivityIndustry.activity_id).where(
            ActivityIndustry.industry == bindparam("industry")
        )
        conditions.append(Activity.id.in_(tagged))
    if "starts_before" in names or "ends_after" in names:
        # One occurrence must be in the whole range: both bounds in one subquery.
        live = select(Occurrence.activity_id).where(Occurrence.cancelled.is_(False))
        if "starts_before" in names:
            live = live.where(Occurrence.starts_at < bindparam("starts_before"))
        if "ends_after" in names:
            live = live.where(Occurrence.ends_at > bindparam("ends_after"))
        conditions.append(Activity.id.in_(live))
    return conditions


@lru_cache(maxsize=256)
def _filtered(names: tuple[str, ...], paged: bool, limited: bool) -> Select[Any]:
    """Activities matching a filter setting ``names`` in id order (after ``:after`` when
    ``paged``, ``:limit`` of them when ``limited``), built once per shape with the values as
    parameters: building the statement per request cost about as much CPU as running it
    (issue 13), and the read connection knows a statement met before by identity."""
    stmt = select(Activity).where(*_conditions(names))
    if paged:
        stmt = stmt.where(Activity.id > bindparam("after"))
    stmt = stmt.order_by(Activity.id)
    return stmt.limit(bindparam("limit", type_=Integer())) if limited else stmt


def _parameters(
    where: ActivityFilter, after: str | None, limit: int | None
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The filters set (the statement's shape) and every parameter's value."""
    parameters = where.parameters()
    names = tuple(parameters)  # in ``_FILTERS``' order: one statement per set of filters
    if after is not None:
        parameters["after"] = after
    if limit is not None:
        parameters["limit"] = limit
    return names, parameters


def _activities(
    where: ActivityFilter, after: str | None, limit: int | None
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement of activities matching ``where`` after ``after``, and its parameters."""
    names, parameters = _parameters(where, after, limit)
    return _filtered(names, after is not None, limit is not None), parameters


async def list_activities(
    session: AsyncSession, where: ActivityFilter, *, after: str | None, limit: int | None
) -> list[Activity]:
    """Activities matching ``where`` in id order after ``after`` (all when ``limit`` is None)."""
    statement, parameters = _activities(where, after, limit)
    return list(await session.scalars(statement, parameters))


async def activity_rows(
    connection: AsyncConnection, where: ActivityFilter, *, after: str | None, limit: int
) -> Sequence[Row[Any]]:
    """``list_activities`` as rows of the table's columns (read by bench/events_calendar.py)."""
    statement, parameters = _activities(where, after, limit)
    rows: Sequence[Row[Any]] = (await connection.execute(statement, parameters)).all()
    return rows


# The list's columns: an activity's shown as they are (first ``id``, which groups the rows),
# then those ``views.listed_activity_fields`` renders, then one of its occurrences'.
LISTED_AS_IS = (
    *("id", "owner_node", "version", "created_at", "updated_at", "title", "level"),
    *("division_code", "city_code", "host_kind", "host_ref", "host_name", "venue"),
    *("timezone", "starts_at", "ends_at", "rrule", "capacity", "registration_opens_at"),
    *("registration_closes_at", "approval_required", "cancel_reason"),
)
LISTED_RENDERED = ("kind", "campaign", "status", "industries", "outcome")
LISTED_OCCURRENCE = ("key", "starts_at", "ends_at", "moved", "cancelled")


class ListedActivity(NamedTuple):
    """An activity of a list page: its rows, one per occurrence (an activity without any has
    one row whose occurrence columns are null), each ``LISTED_AS_IS`` + ``LISTED_RENDERED`` +
    ``LISTED_OCCURRENCE``."""

    id: str
    rows: list[Row[Any]]


@lru_cache(maxsize=256)
def _listed(names: tuple[str, ...], paged: bool) -> Select[Any]:
    """``_filtered``'s page joined to its activities' occurrences: one round trip where an
    ``IN`` list of the page's ids took a second (and a statement compiled per page size)."""
    columns = Activity.__table__.c
    page = (
        _filtered(names, paged, limited=True)
        .with_only_columns(*(columns[name] for name in (*LISTED_AS_IS, *LISTED_RENDERED)))
        .subquery("page")
    )
    occurrence = Occurrence.__table__.c
    return (
        select(page, *(occurrence[name].label(f"occurrence_{name}") for name in LISTED_OCCURRENCE))
        .select_from(page.outerjoin(Occurrence, Occurrence.activity_id == page.c.id))
        .order_by(page.c.id, Occurrence.starts_at, Occurrence.key)
    )


async def listed_activities(
    connection: AsyncConnection, where: ActivityFilter, *, after: str | None, limit: int
) -> list[ListedActivity]:
    """Up to ``limit`` activities matching ``where`` after ``after``, in id order, with their
    occurrences by start, in one statement."""
    names, parameters = _parameters(where, after, limit)
    result = await connection.execute(_listed(names, after is not None), parameters)
    listed: list[ListedActivity] = []
    for row in result.all():
        if listed and listed[-1].id == row[0]:
            listed[-1].rows.append(row)
        else:
            listed.append(ListedActivity(row[0], [row]))
    return listed


def _occurrences(activity_ids: Sequence[str]) -> Select[Any]:
    return (
        select(Occurrence)
        .where(Occurrence.activity_id.in_(list(activity_ids)))
        .order_by(Occurrence.activity_id, Occurrence.starts_at, Occurrence.key)
    )


async def occurrences_of(session: AsyncSession, activity_ids: Sequence[str]) -> list[Occurrence]:
    """The occurrence rows of these activities, by activity then start."""
    if not activity_ids:
        return []
    return list(await session.scalars(_occurrences(activity_ids)))


async def slots_at(
    session: AsyncSession,
    *,
    host_ref: str | None,
    venue: str,
    starts_before: datetime,
    ends_after: datetime,
    other_than: str,
) -> list[tuple[Activity, Occurrence]]:
    """Live occurrences of other live activities at the same host or venue within a span."""
    same_place = Activity.venue == venue
    if host_ref is not None:
        same_place = or_(same_place, Activity.host_ref == host_ref)
    stmt = (
        select(Activity, Occurrence)
        .join(Occurrence, Occurrence.activity_id == Activity.id)
        .where(
            same_place,
            Activity.id != other_than,
            Activity.status != "cancelled",
            Occurrence.cancelled.is_(False),
            Occurrence.starts_at < starts_before,
            Occurrence.ends_at > ends_after,
        )
    )
    return [(a, o) for a, o in (await session.execute(stmt)).all()]


# --- registrations ------------------------------------------------------------------------------


async def registrations_of(
    session: AsyncSession, activity_id: str, occurrence_key: str | None = None
) -> list[Registration]:
    """An activity's registrations (of one occurrence), in decision order."""
    stmt = select(Registration).where(Registration.activity_id == activity_id)
    if occurrence_key is not None:
        stmt = stmt.where(Registration.occurrence_key == occurrence_key)
    return list(await session.scalars(stmt.order_by(Registration.occurrence_key, Registration.seq)))


async def places_taken(session: AsyncSession, activity_id: str, occurrence_key: str) -> int:
    """Registrations holding a place in the occurrence."""
    stmt = select(func.count()).where(
        Registration.activity_id == activity_id,
        Registration.occurrence_key == occurrence_key,
        Registration.status.in_(_HOLDING),
    )
    return int(await session.scalar(stmt) or 0)


async def next_seq(session: AsyncSession, activity_id: str, occurrence_key: str) -> int:
    """The decision order number the next registration of the occurrence gets."""
    stmt = select(func.max(Registration.seq)).where(
        Registration.activity_id == activity_id, Registration.occurrence_key == occurrence_key
    )
    return int(await session.scalar(stmt) or 0) + 1


async def active_participants(
    session: AsyncSession, activity_id: str, occurrence_key: str
) -> set[str]:
    """The participants whose registration for the occurrence is still in."""
    stmt = select(Registration.participant_id).where(
        Registration.activity_id == activity_id,
        Registration.occurrence_key == occurrence_key,
        Registration.status.not_in(_INACTIVE),
    )
    return set(await session.scalars(stmt))


async def waiting(
    session: AsyncSession, activity_id: str, occurrence_key: str
) -> list[Registration]:
    """The occurrence's waiting list, in order."""
    stmt = (
        select(Registration)
        .where(
            Registration.activity_id == activity_id,
            Registration.occurrence_key == occurrence_key,
            Registration.status == str(RegistrationStatus.WAITLISTED),
        )
        .order_by(Registration.seq)
    )
    return list(await session.scalars(stmt))


async def upsert_registration(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert or replace a replicated registration unless one as new is held."""
    return await _upsert(session, Registration.__table__, values, ["id"])


# --- participants -------------------------------------------------------------------------------


async def participant(session: AsyncSession, kind: str, participant_id: str) -> Participant | None:
    """A supplier or enterprise from the registry's replica."""
    return await session.get(Participant, (kind, participant_id))


async def upsert_participant(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Keep the registry's snapshot of a supplier or enterprise unless one as new is held."""
    return await _upsert(session, Participant.__table__, values, ["kind", "id"])


async def holds_any_activity(session: AsyncSession) -> bool:
    """Whether the database holds any activity."""
    return (await session.scalar(select(Activity.id).limit(1))) is not None
