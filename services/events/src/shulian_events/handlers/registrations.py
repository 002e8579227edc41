"""Registrations on the owner node: the decision on a request (in the order requests reach the
owner), approval, cancellation with the waiting list promoted, and check-in on the day.

Requests take the kit's "request on any node, the owner decides" path
(``shulian_common.commands``), the owner's own included, so every request for an activity is
decided in one order, the command topic's: ``request_registration`` sends the command from the
node the caller used; ``decide`` runs on the owner node in the consumer's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Principal
from shulian_common.commands import Outcome, Request, decision_for, new_request_id, send_command
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import flush_update, load, utc_now
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_events import contracts, repository
from shulian_events.domain import access, participation, series
from shulian_events.domain.errors import AlreadyRegistered, NotOnTheDay, NotSelf
from shulian_events.domain.lifecycle import ActivityStatus
from shulian_events.domain.participation import Refusal, RegistrationStatus, Situation
from shulian_events.handlers.places import promote_waiting, record_registration
from shulian_events.orm import Activity, Occurrence, Registration

if TYPE_CHECKING:  # the reader model is declared with the subscriptions, which import this
    from shulian_events.consumers import RegistrationRequestReader

LABEL = "报名"


@dataclass(frozen=True, slots=True)
class RegistrationAsk:
    """What a caller asks for, on whichever node it calls."""

    occurrence_key: str | None
    participant_kind: str
    participant_id: str
    hr_managers: int


@dataclass(frozen=True, slots=True)
class RegistrationRequest:
    """A request to register, as the owner receives it (from any node)."""

    request_id: str
    activity_id: str
    occurrence_key: str | None
    participant_kind: str
    participant_id: str
    hr_managers: int
    requester_node: str


async def decide(
    uow: UnitOfWork, *, activity: Activity, request: RegistrationRequest, now: datetime
) -> Registration:
    """Decide ``request`` on ``activity`` (locked by ``load_activity`` in this transaction); a
    request decided before returns its registration unchanged."""
    session = uow.session
    done = await session.get(Registration, request.request_id)
    if done is not None:
        return done
    key = request.occurrence_key or (series.ONCE if activity.rrule is None else "")
    tally = await _tally(session, activity.id, key)
    occurrence = tally.occurrence
    who = await repository.participant(session, request.participant_kind, request.participant_id)
    situation = Situation(
        activity_open=ActivityStatus(activity.status).open,
        occurrence_known=occurrence is not None,
        occurrence_cancelled=occurrence is not None and occurrence.cancelled,
        occurrence_over=occurrence is not None and occurrence.ends_at <= now,
        opens_at=activity.registration_opens_at,
        closes_at=activity.registration_closes_at,
        now=now,
        participant_known=who is not None,
        participant_delisted=who is not None and who.listing_status == "delisted",
        already_registered=request.participant_id in tally.active,
        approval_required=activity.approval_required,
        capacity=activity.capacity,
        places_taken=tally.taken,
    )
    decision = participation.decide(situation)
    now_utc = utc_now()
    row = Registration(
        id=request.request_id,
        owner_node=activity.owner_node,
        created_at=now_utc,
        updated_at=now_utc,
        activity_id=activity.id,
        occurrence_key=key,
        participant_kind=request.participant_kind,
        participant_id=request.participant_id,
        participant_name=who.name if who is not None else None,
        requester_node=request.requester_node,
        status=str(decision.status),
        seq=tally.last_seq + 1,
        hr_managers=request.hr_managers,
        attendees=0,
        reason_code=_code(decision.refusal),
        reason=decision.refusal.label if decision.refusal is not None else None,
        checked_in_at=None,
    )
    session.add(row)
    await session.flush()
    tally.count(row)  # only once the row is written
    record_registration(uow, contracts.RegistrationDecided, row)
    return row


@dataclass(slots=True)
class _Tally:
    """One occurrence (``None``: unknown) and its registrations as the decisions of this
    transaction leave them: places taken, the last ``seq``, the participants still in. Read once
    per transaction (a consumer's batch of commands), then kept by the decisions themselves;
    sound because only decisions write an occurrence's registrations while its activity is
    locked, and the activity stays locked until the transaction ends."""

    occurrence: Occurrence | None
    taken: int
    last_seq: int
    active: set[str]

    def count(self, row: Registration) -> None:
        status = RegistrationStatus(row.status)
        self.last_seq = row.seq
        self.taken += status.holds_place
        if status.active:
            self.active.add(row.participant_id)


_TALLIES = "shulian_events.tallies"  # session.info: _Tally by (activity id, occurrence key)
_LOCKED = "shulian_events.locked"  # session.info: activities locked in this transaction, by id
# (held here, the session's identity map holds rows only weakly)


async def _tally(session: AsyncSession, activity_id: str, key: str) -> _Tally:
    tallies: dict[tuple[str, str], _Tally] = session.info.setdefault(_TALLIES, {})
    found = tallies.get((activity_id, key))
    if found is None:
        found = _Tally(
            occurrence=await session.get(Occurrence, (activity_id, key)),
            taken=await repository.places_taken(session, activity_id, key),
            last_seq=await repository.next_seq(session, activity_id, key) - 1,
            active=await repository.active_participants(session, activity_id, key),
        )
        tallies[activity_id, key] = found
    return found


def _code(refusal: Refusal | None) -> str | None:
    return str(refusal) if refusal is not None else None


REQUEST_KIND = "registration"  # the kind of this service's rows in the kit's ``requests``


async def request_registration(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    activity_id: str,
    request: RegistrationAsk,
    requester_sub: str,
    idempotency: Idempotency | None,
) -> Created[Request]:
    """Send the request to the activity's owner node (this one too), once per idempotency key.

    The activity is read in the same unit of work (this node's copy names its owner), so a
    request holds one database connection, however many arrive at once."""

    async def work(uow: UnitOfWork) -> Request:
        activity = await load(uow.session, Activity, activity_id, "活动")
        await _refuse_if_known_in(uow.session, activity, request)
        command = contracts.RegistrationRequested(
            request_id=new_request_id(),
            requester_node=node_id,
            target_id=activity.id,
            target_owner_node=activity.owner_node,
            occurrence_key=request.occurrence_key,
            participant_kind=request.participant_kind,
            participant_id=request.participant_id,
            hr_managers=request.hr_managers,
        )
        return await send_command(uow, command, kind=REQUEST_KIND, requester_sub=requester_sub)

    return await create_once(uow_factory, Request, idempotency=idempotency, work=work)


async def _refuse_if_known_in(
    session: AsyncSession, activity: Activity, request: RegistrationAsk
) -> None:
    """Answer at once, with nothing sent, a request of a participant this node already sees in
    for the occurrence (its own decision, or its replica of the owner's): the owner would refuse
    it anyway. One this node has not seen decided yet still goes to the owner, which decides."""
    key = request.occurrence_key or (series.ONCE if activity.rrule is None else None)
    if key is None:
        return
    if request.participant_id in await repository.active_participants(session, activity.id, key):
        raise AlreadyRegistered(
            "该单位已报名此场次，无需重复报名",
            extra={"occurrence_key": key, "participant_id": request.participant_id},
        )


async def load_activity(uow: UnitOfWork, activity_id: str) -> Activity | None:
    """The activity a request is about, locked so decisions on it serialise: once per
    transaction (the kit calls this outside the decision's savepoint, so the lock holds until
    the consumer's batch commits), then from the session."""
    session = uow.session
    locked: dict[str, Activity] = session.info.setdefault(_LOCKED, {})
    if activity_id in locked:
        return locked[activity_id]
    activity = await repository.lock_activity(session, activity_id)
    if activity is not None:
        locked[activity_id] = activity
    return activity


async def decide_request(
    uow: UnitOfWork, command: RegistrationRequestReader, activity: Activity
) -> contracts.RegistrationRequestDecided:
    """The owner's decision on a command, for the kit's ``decides`` (which hands over only
    activities this node owns, locked by ``load_activity``)."""
    request = RegistrationRequest(
        request_id=command.request_id,
        activity_id=activity.id,
        occurrence_key=command.occurrence_key,
        participant_kind=command.participant_kind,
        participant_id=command.participant_id,
        hr_managers=command.hr_managers,
        requester_node=command.requester_node,
    )
    row = await decide(uow, activity=activity, request=request, now=utc_now())
    return _decision(command, row)


def _decision(
    command: RegistrationRequestReader, row: Registration
) -> contracts.RegistrationRequestDecided:
    result = {"registration_id": row.id, "status": row.status, "seq": row.seq}
    if row.status == RegistrationStatus.REJECTED:
        return decision_for(
            contracts.RegistrationRequestDecided,
            command,
            Outcome.REJECTED,
            reason=row.reason_code,
            reason_text=row.reason,
            result=result,
        )
    return decision_for(
        contracts.RegistrationRequestDecided, command, Outcome.ACCEPTED, result=result
    )


# --- the organiser's and participant's steps ------------------------------------------------------


async def _load(
    uow: UnitOfWork, registration_id: str, node_id: str
) -> tuple[Registration, Activity]:
    row = await load(uow.session, Registration, registration_id, LABEL)
    access.ensure_owner(node_id, row.owner_node)
    activity = await repository.lock_activity(uow.session, row.activity_id)
    assert activity is not None  # a registration is only written by its activity's owner
    return row, activity


async def review(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    registration_id: str,
    approve: bool,
) -> Registration:
    """Approve a pending registration (into a place or onto the waiting list), or reject it."""
    async with uow_factory() as uow:
        row, activity = await _load(uow, registration_id, node_id)
        access.ensure_may_schedule(principal, node_id=node_id, division_code=activity.division_code)
        status = RegistrationStatus(row.status)
        if approve:
            taken = await repository.places_taken(uow.session, activity.id, row.occurrence_key)
            new = participation.approve(status, capacity=activity.capacity, places_taken=taken)
        else:
            new = participation.reject(status)
            row.reason_code, row.reason = str(Refusal.NOT_APPROVED), Refusal.NOT_APPROVED.label
        row.status = str(new)
        await flush_update(uow.session, row)
        record_registration(uow, contracts.RegistrationApproved, row)
        await uow.commit()
    return row


async def cancel(
    uow_factory: UnitOfWorkFactory, *, principal: Principal, node_id: str, registration_id: str
) -> Registration:
    """The participant (or the organiser) withdraws; the first waiting takes the place."""
    async with uow_factory() as uow:
        row, activity = await _load(uow, registration_id, node_id)
        if not access.may_act_for(
            principal, participant_id=row.participant_id, division_code=activity.division_code
        ):
            raise NotSelf("只能取消本单位的报名")
        row.status = str(participation.cancel(RegistrationStatus(row.status)))
        await flush_update(uow.session, row)
        record_registration(uow, contracts.RegistrationCancelled, row)
        await promote_waiting(uow, activity, row.occurrence_key)
        await uow.commit()
    return row


async def check_in(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    registration_id: str,
    attendees: int | None,
    now: datetime | None = None,
) -> Registration:
    """Check a confirmed participant in on the day of its occurrence, with the HR managers
    present (person-times)."""
    async with uow_factory() as uow:
        row, activity = await _load(uow, registration_id, node_id)
        access.ensure_may_schedule(principal, node_id=node_id, division_code=activity.division_code)
        occurrence = await uow.session.get(Occurrence, (activity.id, row.occurrence_key))
        moment = now or utc_now()
        if occurrence is None or not _on_the_day(occurrence, moment):
            raise NotOnTheDay(
                "仅可在该场次举办当天签到", extra={"occurrence_key": row.occurrence_key}
            )
        row.status = str(participation.check_in(RegistrationStatus(row.status)))
        row.attendees = row.hr_managers if attendees is None else attendees
        row.checked_in_at = moment
        await flush_update(uow.session, row)
        record_registration(uow, contracts.RegistrationCheckedIn, row)
        await uow.commit()
    return row


def _on_the_day(occurrence: Occurrence, moment: datetime) -> bool:
    first = series.local_date_of(occurrence.starts_at)
    last = series.local_date_of(occurrence.ends_at)
    return first <= series.local_date_of(moment) <= last
