"""The example's routes under ``/v1/notes``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from kit_example import handlers
from kit_example.orm import Note
from shulian_common.deps import SessionDep, SettingsDep, UowFactoryDep, WriterDep
from shulian_common.errors import problem_responses
from shulian_common.http import (
    Authenticated,
    IdempotencyDep,
    IfMatch,
    PageDep,
    created_response,
    expected_versions,
    record_response,
)
from shulian_common.records import load, page_after
from shulian_common.schemas import Page, RecordRead, Strict

router = APIRouter(prefix="/v1/notes", tags=["notes"], dependencies=[Authenticated])


class NoteWrite(Strict):
    """A note's fields."""

    title: str = Field(min_length=1, max_length=200)


class NoteRead(RecordRead):
    """A note."""

    title: str


@router.post("", status_code=201, response_model=NoteRead, responses=problem_responses(401, 422))
async def create_note(
    body: NoteWrite,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Write a note; ``Idempotency-Key`` makes retries safe."""
    created = await handlers.create_note(
        uow_factory,
        node_id=settings.node_id,
        title=body.title,
        idempotency=idempotency,
    )
    note = created.record
    return created_response(created, NoteRead.model_validate(note), location=f"/v1/notes/{note.id}")


@router.get("", response_model=Page[NoteRead], responses=problem_responses(400, 401))
async def list_notes(session: SessionDep, page: PageDep) -> Page[NoteRead]:
    """Notes in id order, by cursor."""
    rows = await page_after(session, Note, after=page.after, limit=page.fetch)
    return page.build(rows, NoteRead.model_validate)


@router.get("/{note_id}", response_model=NoteRead, responses=problem_responses(401, 404))
async def read_note(note_id: str, session: SessionDep) -> JSONResponse:
    """One note, with its ETag."""
    note = await load(session, Note, note_id, "笔记")
    return record_response(NoteRead.model_validate(note), version=note.version)


@router.patch("/{note_id}", response_model=NoteRead, responses=problem_responses(404, 412, 428))
async def rename_note(
    note_id: str,
    body: NoteWrite,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Rename a note; needs ``If-Match`` with the ETag the change is based on."""
    note = await handlers.rename_note(
        uow_factory,
        note_id=note_id,
        expected_version=expected_versions(if_match),
        title=body.title,
    )
    return record_response(NoteRead.model_validate(note), version=note.version)
