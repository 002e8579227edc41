"""Every query of the calendar, and only queries. Repositories flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, insert, or_, select
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

    def where(self) -> list[ColumnElement[bool]]:
        """The conditions on ``Activity`` (and its occurrences for the date range)."""
        conditions: list[ColumnElement[bool]] = []
        for column, value in (
            (Activity.city_code, self.city_code),
            (Activity.division_code, self.division_code),
            (Activity.kind, self.kind),
            (Activity.level, self.level),
            (Activity.campaign, self.campaign),
            (Activity.status, self.status),
            (Activity.owner_node, self.owner_node),
        ):
            if value is not None:
                conditions.append(column == value)
        if self.industry is not None:
            tagged = select(ActivityIndustry.activity_id).where(
                ActivityIndustry.industry == self.industry
            )
            conditions.append(Activity.id.in_(tagged))
        if self.starts_before is not None or self.ends_after is not None:
            conditions.append(Activity.id.in_(self._in_range()))
        return conditions

    def _in_range(self) -> Any:
        stmt = select(Occurrence.activity_id).where(Occurrence.cancelled.is_(False))
        if self.starts_before is not None:
            stmt = stmt.where(Occurrence.starts_at < self.starts_before)
        if self.ends_after is not None:
            stmt = stmt.where(Occurrence.ends_at > self.ends_after)
        return stmt


def _activities(where: ActivityFilter, after: str | None, limit: int | None) -> Select[Any]:
    stmt = select(Activity).where(*where.where())
    if after is not None:
        stmt = stmt.where(Activity.id > after)
    stmt = stmt.order_by(Activity.id)
    return stmt if limit is None else stmt.limit(limit)


async def list_activities(
    session: AsyncSession, where: ActivityFilter, *, after: str | None, limit: int | None
) -> list[Activity]:
    """Activities matching ``where`` in id order after ``after`` (all when ``limit`` is None)."""
    return list(await session.scalars(_activities(where, after, limit)))


async def activity_rows(
    connection: AsyncConnection, where: ActivityFilter, *, after: str | None, limit: int
) -> Sequence[Row[Any]]:
    """``list_activities`` as rows of the table's columns (the list route's lean path)."""
    rows: Sequence[Row[Any]] = (await connection.execute(_activities(where, after, limit))).all()
    return rows


def _occurrences(activity_ids: Sequence[str]) -> Select[Any]:
    return (
        select(Occurrence)
        .where(Occurrence.activity_id.in_(list(activity_ids)))
        .order_by(Occurrence.activity_id, Occurrence.starts_at)
    )


async def occurrences_of(session: AsyncSession, activity_ids: Sequence[str]) -> list[Occurrence]:
    """The occurrence rows of these activities, by activity then start."""
    if not activity_ids:
        return []
    return list(await session.scalars(_occurrences(activity_ids)))


async def occurrence_rows(
    connection: AsyncConnection, activity_ids: Sequence[str]
) -> Sequence[Row[Any]]:
    """``occurrences_of`` as rows of the table's columns."""
    if not activity_ids:
        return []
    rows: Sequence[Row[Any]] = (await connection.execute(_occurrences(activity_ids))).all()
    return rows


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
