"""Commands on activities: schedule, change, reschedule, move or cancel one occurrence, hold,
complete with an outcome, cancel. Each commits the activity, its occurrence rows and its
snapshot event in one unit of work, on the owner node only."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Principal
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import Versions, add, check_version, flush_update, load, utc_now
from shulian_common.reference import is_industry
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_events import contracts, repository
from shulian_events.domain import access, participation, series
from shulian_events.domain.conflicts import Clash, Slot, clashes
from shulian_events.domain.errors import (
    InvalidTransition,
    NotASeries,
    SeriesHasRegistrations,
    UnknownIndustry,
)
from shulian_events.domain.lifecycle import ActivityAction, ActivityStatus, next_status
from shulian_events.domain.participation import RegistrationStatus
from shulian_events.domain.terms import TIMEZONE, Level
from shulian_events.handlers.places import promote_waiting, record_registration
from shulian_events.orm import Activity

LABEL = "活动"
_DATES = frozenset({"starts_at", "ends_at", "rrule"})


def record_snapshot(
    uow: UnitOfWork, event: type[contracts.ActivitySnapshot], row: Activity
) -> None:
    """Queue the activity's whole state as ``event``."""
    uow.record(event.model_validate(row, from_attributes=True), key=row.id, subject=row.id)


def overrides_of(row: Activity) -> dict[str, series.Override]:
    """The activity's per-occurrence overrides, by key."""
    return {
        o["key"]: series.Override(
            starts_at=_when(o.get("starts_at")),
            ends_at=_when(o.get("ends_at")),
            cancelled=bool(o.get("cancelled")),
            reason=o.get("reason"),
        )
        for o in row.overrides
    }


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def occurrences(row: Activity) -> list[series.Occurrence]:
    """The activity's occurrences as they stand."""
    return series.expand(row.starts_at, row.ends_at, row.rrule, overrides_of(row))


async def materialise(session: AsyncSession, row: Activity) -> list[series.Occurrence]:
    """Rebuild the activity's occurrence and industry rows from the activity."""
    found = occurrences(row)
    await repository.replace_occurrences(session, row.id, found)
    await repository.replace_industries(session, row.id, row.industries)
    return found


def _check_schedule(
    starts_at: datetime,
    ends_at: datetime,
    rule: str | None,
    window: tuple[datetime | None, datetime | None],
    overrides: Mapping[str, series.Override] | None = None,
) -> None:
    """Refuse times, occurrences or a registration window that make no schedule (a new rule's
    text is checked before this, by ``series.check_rule``, so nothing expands a bad one)."""
    series.check_times(starts_at, ends_at)
    found = series.expand(starts_at, ends_at, rule, overrides)
    series.check_apart(found)
    series.check_window(*window, found)


def _known_industries(codes: Iterable[str]) -> list[str]:
    """The codes, each once in the order given; ``UnknownIndustry`` if any is not the kit's."""
    unique = list(dict.fromkeys(codes))
    unknown = sorted(code for code in unique if not is_industry(code))
    if unknown:
        raise UnknownIndustry(
            f"未知的产业代码：{'、'.join(unknown)}（见 registry 的 /v1/reference/industries）",
            extra={"industries": unknown},
        )
    return unique


async def create_activity(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    fields: Mapping[str, Any],
    idempotency: Idempotency | None,
) -> Created[Activity]:
    """Schedule an activity of the principal's division on this node, once per key."""
    division = fields["division_code"]
    access.check_level(Level(fields["level"]), division)
    access.ensure_may_schedule(principal, node_id=node_id, division_code=division)
    if fields.get("rrule") is not None:
        series.check_rule(fields["rrule"])
    window = (fields.get("registration_opens_at"), fields.get("registration_closes_at"))
    _check_schedule(fields["starts_at"], fields["ends_at"], fields.get("rrule"), window)
    fields = {**fields, "industries": _known_industries(fields.get("industries", ()))}

    async def work(uow: UnitOfWork) -> Activity:
        now = utc_now()
        row = Activity(
            id=uuid.uuid4().hex,
            owner_node=node_id,
            created_at=now,
            updated_at=now,
            city_code=access.city_code_of(division),
            timezone=TIMEZONE,
            overrides=[],
            status=str(ActivityStatus.SCHEDULED),
            cancel_reason=None,
            outcome=None,
            **fields,
        )
        await add(uow.session, row)
        await materialise(uow.session, row)
        record_snapshot(uow, contracts.ActivityScheduled, row)
        return row

    return await create_once(uow_factory, Activity, idempotency=idempotency, work=work)


async def _load_for_change(
    uow: UnitOfWork, *, principal: Principal, node_id: str, activity_id: str, expected: Versions
) -> Activity:
    row = await load(uow.session, Activity, activity_id, LABEL)
    access.ensure_owner(node_id, row.owner_node)
    access.ensure_may_schedule(principal, node_id=node_id, division_code=row.division_code)
    check_version(row, expected)
    return row


async def update_activity(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    activity_id: str,
    expected: Versions,
    changes: Mapping[str, Any],
) -> Activity:
    """Change an activity's details; new dates reschedule it (a series only while no one is
    registered, since its dates name its occurrences)."""
    if changes.get("industries") is not None:
        changes = {**changes, "industries": _known_industries(changes["industries"])}
    if changes.get("rrule") is not None:
        series.check_rule(changes["rrule"])
    async with uow_factory() as uow:
        row = await _load_for_change(
            uow, principal=principal, node_id=node_id, activity_id=activity_id, expected=expected
        )
        changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if not changed:
            uow.session.expunge(row)
            return row
        status = ActivityStatus(row.status)
        if not status.open:
            raise InvalidTransition(f"活动{status.label}，不能修改", extra={"status": str(status)})
        rescheduling = bool(_DATES & changed.keys())
        if rescheduling:
            await _check_reschedule(uow.session, row, changed)
            row.status = str(next_status(status, ActivityAction.RESCHEDULE))
        for name, value in changed.items():
            setattr(row, name, value)
        series.check_times(row.starts_at, row.ends_at)
        if rescheduling:
            keys = {o.key for o in series.expand(row.starts_at, row.ends_at, row.rrule)}
            row.overrides = [o for o in row.overrides if o["key"] in keys]
        window = (row.registration_opens_at, row.registration_closes_at)
        _check_schedule(row.starts_at, row.ends_at, row.rrule, window, overrides_of(row))
        await flush_update(uow.session, row)
        await materialise(uow.session, row)
        if "capacity" in changed:
            for occurrence in occurrences(row):
                await promote_waiting(uow, row, occurrence.key)
        event = contracts.ActivityRescheduled if rescheduling else contracts.ActivityUpdated
        record_snapshot(uow, event, row)
        await uow.commit()
    return row


async def _check_reschedule(
    session: AsyncSession, row: Activity, changed: Mapping[str, Any]
) -> None:
    is_series = row.rrule is not None or changed.get("rrule") is not None
    if not is_series:
        return
    if await repository.registrations_of(session, row.id):
        raise SeriesHasRegistrations("系列活动已有报名：请逐场改期或取消，而不是整体改期")


async def _override(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    activity_id: str,
    expected: Versions,
    key: str,
    override: dict[str, Any],
) -> Activity:
    async with uow_factory() as uow:
        row = await _load_for_change(
            uow, principal=principal, node_id=node_id, activity_id=activity_id, expected=expected
        )
        if row.rrule is None:
            raise NotASeries("单场活动请修改活动时间（PATCH）或取消整个活动", extra={"key": key})
        current = series.find(occurrences(row), key)
        if current.cancelled:
            raise InvalidTransition("该场次已取消", extra={"occurrence_key": key})
        row.status = str(next_status(ActivityStatus(row.status), ActivityAction.RESCHEDULE))
        kept = [o for o in row.overrides if o["key"] != key]
        row.overrides = [*kept, {"key": key, **override}]
        series.check_apart(occurrences(row))
        await flush_update(uow.session, row)
        await materialise(uow.session, row)
        record_snapshot(uow, contracts.ActivityRescheduled, row)
        if override["cancelled"]:
            await _cancel_registrations(uow, row, f"该场次已取消：{override['reason']}", key=key)
        await uow.commit()
    return row


async def _cancel_registrations(
    uow: UnitOfWork, activity: Activity, reason: str, *, key: str | None = None
) -> None:
    """Cancel the registrations still in (pending approval, confirmed, waiting) of the activity,
    or of its occurrence ``key``: each becomes ``cancelled`` with reason ``activity_cancelled``
    and is published, so the requesters' nodes follow. Called after the activity's row is
    written (on PostgreSQL its row lock is held), so no decision slips in between; a request
    decided later finds the activity or occurrence cancelled and is refused."""
    for registration in await repository.registrations_of(uow.session, activity.id, key):
        status = RegistrationStatus(registration.status)
        if not participation.cancelled_by_organiser(status):
            continue
        registration.status = str(RegistrationStatus.CANCELLED)
        registration.reason_code = participation.ACTIVITY_CANCELLED
        registration.reason = reason
        await flush_update(uow.session, registration)
        record_registration(uow, contracts.RegistrationCancelled, registration)


async def move_occurrence(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    activity_id: str,
    expected: Versions,
    key: str,
    starts_at: datetime,
    ends_at: datetime,
) -> Activity:
    """Move one occurrence of a series (it keeps its key and registrations)."""
    series.check_times(starts_at, ends_at)
    return await _override(
        uow_factory,
        principal=principal,
        node_id=node_id,
        activity_id=activity_id,
        expected=expected,
        key=key,
        override={
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "cancelled": False,
            "reason": None,
        },
    )


async def cancel_occurrence(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    activity_id: str,
    expected: Versions,
    key: str,
    reason: str,
) -> Activity:
    """Cancel one occurrence of a series (an EXDATE in the calendar)."""
    return await _override(
        uow_factory,
        principal=principal,
        node_id=node_id,
        activity_id=activity_id,
        expected=expected,
        key=key,
        override={"starts_at": None, "ends_at": None, "cancelled": True, "reason": reason},
    )


async def step(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    activity_id: str,
    expected: Versions,
    action: ActivityAction,
    reason: str | None = None,
    outcome: Mapping[str, int | None] | None = None,
) -> Activity:
    """Hold, complete (with its outcome) or cancel (with a reason) an activity."""
    async with uow_factory() as uow:
        row = await _load_for_change(
            uow, principal=principal, node_id=node_id, activity_id=activity_id, expected=expected
        )
        row.status = str(next_status(ActivityStatus(row.status), action))
        if action is ActivityAction.CANCEL:
            row.cancel_reason = reason
        if action is ActivityAction.COMPLETE:
            row.outcome = await _outcome(uow.session, row.id, outcome or {})
        await flush_update(uow.session, row)
        record_snapshot(uow, _STEP_EVENTS[action], row)
        if action is ActivityAction.CANCEL:
            await _cancel_registrations(uow, row, "活动已取消" + (f"：{reason}" if reason else ""))
        await uow.commit()
    return row


_STEP_EVENTS: dict[ActivityAction, type[contracts.ActivitySnapshot]] = {
    ActivityAction.HOLD: contracts.ActivityHeld,
    ActivityAction.COMPLETE: contracts.ActivityCompleted,
    ActivityAction.CANCEL: contracts.ActivityCancelled,
}


async def _outcome(
    session: AsyncSession, activity_id: str, given: Mapping[str, int | None]
) -> dict[str, int]:
    """The outcome as reported; firms and HR managers default to what check-in counted."""
    arrived = [
        r
        for r in await repository.registrations_of(session, activity_id)
        if r.status == RegistrationStatus.CHECKED_IN
    ]
    counted = {
        "firms_participated": len({r.participant_id for r in arrived}),
        "hr_managers_attended": sum(r.attendees for r in arrived),
    }
    outcome = {
        "firms_participated": given.get("firms_participated"),
        "positions_offered": given.get("positions_offered") or 0,
        "intents_signed": given.get("intents_signed") or 0,
        "hr_managers_attended": given.get("hr_managers_attended"),
    }
    return {k: v if v is not None else counted[k] for k, v in outcome.items()}


async def double_bookings(session: AsyncSession, row: Activity) -> list[Clash]:
    """Other live activities at the same host or venue overlapping one of this one's occurrences."""
    mine = [
        Slot(row.id, row.title, o.starts_at, o.ends_at) for o in occurrences(row) if not o.cancelled
    ]
    if not mine or row.status == ActivityStatus.CANCELLED:
        return []
    found = await repository.slots_at(
        session,
        host_ref=row.host_ref,
        venue=row.venue,
        starts_before=max(s.ends_at for s in mine),
        ends_after=min(s.starts_at for s in mine),
        other_than=row.id,
    )
    theirs = [Slot(a.id, a.title, o.starts_at, o.ends_at) for a, o in found]
    return clashes(mine, theirs)
