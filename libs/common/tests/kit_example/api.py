"""The example's routes under ``/v1/notes``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from kit_example import handlers
from kit_example.orm import Note
from shulian_common.commands import RequestRead, accepted_response, load_request, request_read
from shulian_common.deps import PrincipalDep, SessionDep, SettingsDep, UowFactoryDep, WriterDep
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
seat_requests = APIRouter(prefix="/v1/seat-requests", tags=["seats"], dependencies=[Authenticated])


class NoteWrite(Strict):
    """A note's fields."""

    title: str = Field(min_length=1, max_length=200)
    seats: int = Field(default=0, ge=0, le=10_000, description="seats other nodes may request")


class NoteRead(RecordRead):
    """A note."""

    title: str
    seats: int


class SeatRequestWrite(Strict):
    """A seat request: the note's owner node (a real service takes it from its replica)."""

    owner_node: str = Field(pattern=r"^\d{6}$")
    party: str = Field(min_length=1, max_length=100)


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
        seats=body.seats,
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


@router.post(
    "/{note_id}/seats",
    status_code=202,
    response_model=RequestRead,
    responses=problem_responses(401, 422),
)
async def request_seat(
    note_id: str,
    body: SeatRequestWrite,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Ask for a seat: 202 with the request to follow; the note's owner node decides."""
    created = await handlers.request_seat(
        uow_factory,
        node_id=settings.node_id,
        note_id=note_id,
        owner_node=body.owner_node,
        party=body.party,
        requester_sub=principal.sub,
        idempotency=idempotency,
    )
    return accepted_response(created, location=f"/v1/seat-requests/{created.record.id}")


@seat_requests.get("/{request_id}", response_model=RequestRead, responses=problem_responses(404))
async def read_seat_request(request_id: str, session: SessionDep, _: PrincipalDep) -> JSONResponse:
    """A seat request: pending until the owner node's decision arrives, then its outcome."""
    row = await load_request(session, request_id, kind=handlers.SEAT, label="座位请求")
    return record_response(request_read(row), version=row.version)
