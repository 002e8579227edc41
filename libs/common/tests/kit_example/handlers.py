"""The example's commands and its consumed event; the only place a transaction commits.

Seats show the kit's "request on any node, the owner decides": ``request_seat`` (any node) sends
a ``seat.requested`` command; ``decide_seat`` runs on the note's owner node, in log order, and
gives a seat while the note has one left."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from kit_example.contracts import NoteSaved, SeatDecided, SeatRequested
from kit_example.orm import Note, NoteSeen, Seat
from shulian_common.commands import (
    CommandReader,
    Outcome,
    Request,
    decision_for,
    new_request_id,
    send_command,
)
from shulian_common.envelope import CloudEvent
from shulian_common.errors import ConflictError
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.readers import ReaderModel
from shulian_common.records import (
    Versions,
    add,
    changed_fields,
    check_version,
    flush_update,
    load,
    unchanged,
    utc_now,
)
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory


def _record_saved(uow: UnitOfWork, note: Note) -> None:
    uow.record(NoteSaved.model_validate(note, from_attributes=True), key=note.id, subject=note.id)


async def create_note(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    title: str,
    seats: int = 0,
    idempotency: Idempotency | None,
) -> Created[Note]:
    """Write a note, once per idempotency key."""

    async def work(uow: UnitOfWork) -> Note:
        now = utc_now()
        note = Note(
            id=uuid.uuid4().hex,
            owner_node=node_id,
            title=title,
            seats=seats,
            created_at=now,
            updated_at=now,
        )
        await add(uow.session, note)
        _record_saved(uow, note)
        return note

    return await create_once(uow_factory, Note, idempotency=idempotency, work=work)


async def rename_note(
    uow_factory: UnitOfWorkFactory, *, note_id: str, expected_version: Versions, title: str
) -> Note:
    """Give a note a new title, if it is still at the version the caller read."""
    async with uow_factory() as uow:
        note = await load(uow.session, Note, note_id, "笔记")
        check_version(note, expected_version)
        if not changed_fields(note, {"title": title}):
            return unchanged(uow, note)
        note.title = title
        await flush_update(uow.session, note)
        _record_saved(uow, note)
        await uow.commit()
    return note


class NoteSavedReader(ReaderModel):
    """What the consumer reads of a saved note (its own view, not the producer's model)."""

    id: str
    version: int


async def note_seen(uow: UnitOfWork, event: CloudEvent, data: NoteSavedReader) -> None:
    """Log a saved note (the runner commits this with the inbox row)."""
    await add(uow.session, NoteSeen(note_id=data.id, version=data.version))


SEAT = "seat"  # the kind of the example's requests


async def request_seat(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    note_id: str,
    owner_node: str,
    party: str,
    requester_sub: str,
    idempotency: Idempotency | None,
) -> Created[Request]:
    """Ask the note's owner node for a seat (once per idempotency key); the owner decides."""

    async def work(uow: UnitOfWork) -> Request:
        command = SeatRequested(
            request_id=new_request_id(),
            requester_node=node_id,
            target_id=note_id,
            target_owner_node=owner_node,
            party=party,
        )
        return await send_command(uow, command, kind=SEAT, requester_sub=requester_sub)

    return await create_once(uow_factory, Request, idempotency=idempotency, work=work)


class SeatRequestReader(CommandReader):
    """What the owner reads of a seat request."""

    party: str


async def load_note(uow: UnitOfWork, note_id: str) -> Note | None:
    """The note a seat request is about, if this node has it."""
    return await uow.session.get(Note, note_id)


async def decide_seat(uow: UnitOfWork, command: SeatRequestReader, note: Note) -> SeatDecided:
    """Give the next seat while the note has one left (the kit turns the refusal into a
    rejection with its code)."""
    count = select(func.count()).select_from(Seat).where(Seat.note_id == note.id)
    taken = int(await uow.session.scalar(count) or 0)
    if taken >= note.seats:
        raise ConflictError(f"笔记 {note.id} 的 {note.seats} 个座位已满", code="no_seats_left")
    seat = Seat(
        request_id=command.request_id,
        note_id=note.id,
        seat=taken + 1,
        requester_node=command.requester_node,
        party=command.party,
    )
    await add(uow.session, seat)
    return decision_for(SeatDecided, command, Outcome.ACCEPTED, result={"seat": seat.seat})
