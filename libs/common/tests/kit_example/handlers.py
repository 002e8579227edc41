"""The example's commands and its consumed event; the only place a transaction commits."""

from __future__ import annotations

import uuid

from kit_example.contracts import NoteSaved
from kit_example.orm import Note, NoteSeen
from shulian_common.envelope import CloudEvent
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
    uow_factory: UnitOfWorkFactory, *, node_id: str, title: str, idempotency: Idempotency | None
) -> Created[Note]:
    """Write a note, once per idempotency key."""

    async def work(uow: UnitOfWork) -> Note:
        now = utc_now()
        note = Note(
            id=uuid.uuid4().hex, owner_node=node_id, title=title, created_at=now, updated_at=now
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
