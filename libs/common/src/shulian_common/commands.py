"""Request on any node, the owner decides: commands, decisions and the ``requests`` table.

A request about a record another node owns (a grab of an order, a registration for an activity)
is never written to that record by the node that received it. It becomes a COMMAND on the owning
service's command topic, keyed by the record's id; only the record's owner node decides, in log
order, and publishes the DECISION as an event everyone sees. The owner's own requests take the same
path, so every request for one record is decided in one order, the log's: capacity holds under
contention from every node, requests are served first come first served across nodes, and a replay
of the log decides the same way. ::

    caller        requester node (API)              bus                 owner node (consumer)
      | POST /v1/grabs   |                           |                           |
      |----------------->| send_command: requests row |                           |
      |                  | (pending) + command in the |                           |
      |                  | outbox, one transaction    |                           |
      |<-- 202 {id} -----|---- relay: command ------->|  key = target_id          |
      |                  |                           |--- decides(): inbox ----->|
      |                  |                           |    dedupe, target check,   |
      |                  |                           |    decide_fn, decision in  |
      |                  |                           |<-- the outbox, one commit -|
      |                  |<-- follows(): the requests |                           |
      |                  |    row gets the outcome    |                           |
      | GET /v1/grabs/{id} (request_read): pending, then accepted/rejected + reason  |

The pieces, all generic:

- ``CommandModel`` (strict, like ``EventModel``): ``request_id``, ``requester_node``,
  ``target_id``, ``target_owner_node`` and the service's payload fields. Registered in the
  catalogue like an event, type ``cn.sichuan.shulian.{service}.{thing}.requested.v1`` on a command
  topic (``shulian.{service}.{things}.v1``); the service's AsyncAPI lists it as a message sent to
  that channel. ``DecisionModel``: ``request_id``, ``requester_node``, ``target_id``, ``outcome``,
  ``reason`` (a stable code) and ``reason_text`` (Chinese), ``result`` (optional payload), on the
  owner's event stream.
- Sending: ``send_command(uow, command, kind=..., requester_sub=...)`` inside a handler's unit of
  work writes the ``requests`` row (status ``pending``) and records the command (keyed by
  ``target_id``) in the same transaction. ``Request`` is a kit record, so ``create_once`` with the
  route's ``IdempotencyDep`` makes a retried request return the first one's id.
- Deciding: ``decides(...)`` builds the ``Subscription`` of the command topic. Its handler ignores
  commands for records other nodes own, loads the target (unknown, or not owned here: a
  ``rejected`` decision with reason ``unknown_target``, never an exception loop), calls the
  service's decide function, and records the decision, all inside the consumer's unit of work
  (inbox dedupe, so a duplicate delivery decides once). A ``ShulianError`` raised by the decide
  function is a rejection with its ``code`` and ``detail``; any other exception is retried and
  then dead-lettered like any consumer failure. The aggregate-trust rule of events
  (``trust.check_trust``) does not apply to commands: their rule is ``check_command_trust`` (the
  source node is the requester it names). The owner trusts the requester node for who is asking
  (requester authorisation is that node's API's job) but re-checks eligibility itself.
- Following: ``follows(...)`` builds the ``Subscription`` of the decision stream on a requester
  node: a decision for a request this node holds, coming from that request's owner node, settles
  the row (status ``decided``, outcome, reason, result, ``decided_at``); decisions for other nodes
  are ignored, and so is a second copy. ``request_read`` renders a row (404 problem for an unknown
  id); a request pending longer than ``overdue_after`` stays ``pending`` (no outcome is invented)
  but says ``overdue`` and its ``age_seconds``.
- Tables: ``create_request_tables(op)`` in a service's migration (separate from
  ``create_kit_tables``: services without commands need no migration), and
  ``include_request_tables(metadata)`` in its ORM module, so the migration drift test and
  autogenerate see the table.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shulian_common.catalogue import EventModel, check_event_type
from shulian_common.consumer import Subscription
from shulian_common.db import new_metadata
from shulian_common.envelope import CloudEvent
from shulian_common.errors import NotFoundError, ShulianError
from shulian_common.idempotency import Created
from shulian_common.readers import ReaderModel, Reads
from shulian_common.records import ID_LENGTH, Json, Record, UTCDateTime, add, record_columns
from shulian_common.records import utc_now as _utc_now
from shulian_common.schemas import Strict
from shulian_common.trust import check_command_trust
from shulian_common.uow import UnitOfWork

logger = logging.getLogger(__name__)

REQUESTS = "requests"
OVERDUE_AFTER = timedelta(seconds=60)  # default age past which a pending request says so
UNKNOWN_TARGET = "unknown_target"
_UNKNOWN_TARGET_TEXT = "请求的目标记录不存在或不属于本节点"
_REQUESTED = ".requested.v"

T = TypeVar("T")
C = TypeVar("C", bound="CommandReader")
D = TypeVar("D", bound="DecisionModel")


# --- contracts --------------------------------------------------------------------------------


class CommandModel(EventModel):
    """Base of a command's data (strict like every event): who asks, about which record."""

    request_id: str = Field(min_length=1, max_length=ID_LENGTH)
    requester_node: str = Field(min_length=6, max_length=6)
    target_id: str = Field(min_length=1, max_length=ID_LENGTH)
    target_owner_node: str = Field(min_length=6, max_length=6)


class Outcome(StrEnum):
    """How the owner decided a request."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class DecisionModel(EventModel):
    """Base of a decision's data, published by the owner on its event stream.

    A subclass may add fields, with defaults (the kit builds ``unknown_target`` rejections).
    """

    request_id: str
    requester_node: str
    target_id: str
    outcome: Outcome
    reason: str | None = Field(default=None, description="stable code of a rejection")
    reason_text: str | None = Field(default=None, description="the reason, in Chinese")
    result: dict[str, Any] | None = None


class CommandReader(ReaderModel):
    """What the owner reads of a command: base of a service's own reader of its command type."""

    request_id: str
    requester_node: str
    target_id: str
    target_owner_node: str


class DecisionReader(ReaderModel):
    """What a requester node reads of a decision (services may use it as is)."""

    request_id: str
    requester_node: str
    target_id: str
    outcome: str
    reason: str | None = None
    reason_text: str | None = None
    result: dict[str, Any] | None = None


def check_command_type(command_type: str) -> None:
    """Refuse a command type that does not read ``cn.sichuan.shulian.SVC.THING.requested.vN``."""
    check_event_type(command_type)
    if _REQUESTED not in command_type:
        raise ValueError(f"command type {command_type!r} must end in .requested.vN")


def new_request_id() -> str:
    """A fresh request id (32 hex characters, like every record id)."""
    return uuid.uuid4().hex


def decision_for(
    model: type[D],
    command: CommandReader,
    outcome: Outcome,
    *,
    reason: str | None = None,
    reason_text: str | None = None,
    result: Mapping[str, Any] | None = None,
    **fields: Any,
) -> D:
    """The decision of ``model`` answering ``command``."""
    return model(
        request_id=command.request_id,
        requester_node=command.requester_node,
        target_id=command.target_id,
        outcome=outcome,
        reason=reason,
        reason_text=reason_text,
        result=dict(result) if result is not None else None,
        **fields,
    )


# --- the requests table -----------------------------------------------------------------------


class _RequestsBase(DeclarativeBase):
    metadata = new_metadata()


class Request(Record, _RequestsBase):
    """A request this node sent; ``owner_node`` is the node that decides it."""

    __tablename__ = REQUESTS

    kind: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    requester_sub: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # pending | decided
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason_text: Mapped[str | None] = mapped_column(Text(), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


PENDING, DECIDED = "pending", "decided"
requests_table: Table = Request.__table__  # type: ignore[assignment]


def _request_columns() -> list[Any]:
    return [
        *record_columns(REQUESTS),
        sa.Column("kind", String(64), nullable=False),
        sa.Column("target_id", String(ID_LENGTH), nullable=False),
        sa.Column("requester_sub", String(200), nullable=False),
        sa.Column("status", String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", String(16), nullable=True),
        sa.Column("reason", String(64), nullable=True),
        sa.Column("reason_text", Text(), nullable=True),
        sa.Column("result", Json, nullable=True),
    ]


def create_request_tables(op: Any) -> None:
    """Create ``requests`` (call from the revision of a service that sends commands)."""
    op.create_table(REQUESTS, *_request_columns())


def drop_request_tables(op: Any) -> None:
    """Drop ``requests`` (the downgrade of ``create_request_tables``)."""
    op.drop_table(REQUESTS)


def include_request_tables(metadata: MetaData) -> None:
    """Declare ``requests`` in a service's ORM metadata, so drift tests and autogenerate see it."""
    if REQUESTS not in metadata.tables:
        requests_table.to_metadata(metadata)


# --- sending ----------------------------------------------------------------------------------


async def send_command(
    uow: UnitOfWork, command: CommandModel, *, kind: str, requester_sub: str
) -> Request:
    """Write the ``requests`` row (pending) and record ``command`` keyed by its target, in
    ``uow``'s transaction; the caller commits (``create_once`` does)."""
    now = _utc_now()
    row = Request(
        id=command.request_id,
        owner_node=command.target_owner_node,
        kind=kind,
        target_id=command.target_id,
        requester_sub=requester_sub,
        status=PENDING,
        created_at=now,
        updated_at=now,
    )
    await add(uow.session, row)
    uow.record(command, key=command.target_id, subject=command.target_id)
    return row


# --- deciding ---------------------------------------------------------------------------------

LoadTarget = Callable[[UnitOfWork, str], Awaitable[T | None]]
Decide = Callable[[UnitOfWork, C, T], Awaitable[DecisionModel]]
Prepare = Callable[[UnitOfWork, Sequence[C]], Awaitable[None]]


def decides(
    *,
    topic: str,
    command_type: str,
    reader: type[C],
    load: LoadTarget[T],
    decide: Decide[C, T],
    decision: type[DecisionModel],
    node_id: str,
    prepare: Prepare[C] | None = None,
    savepoint: bool = True,
) -> Subscription:
    """The owner's subscription to ``command_type`` on ``topic``.

    For a command whose ``target_owner_node`` is ``node_id``: ``load(uow, target_id)`` finds the
    target (``None``, or a target whose ``owner_node`` is another node: rejected with
    ``unknown_target``); ``decide(uow, command, target)`` changes what it decides and returns the
    decision; the decision is recorded keyed by the target id. One transaction with the inbox row.

    ``decide`` runs in a savepoint: a ``ShulianError`` it raises undoes its writes and becomes a
    rejection with the error's code and detail (it must not ``uow.record`` events before raising:
    the kit records the decision; other events it records go out only with an acceptance).
    ``savepoint=False`` spares those two statements per command, for a ``decide`` that raises
    only before it writes anything.

    ``prepare(uow, commands)``, if given, is called once per transaction with the commands for
    this node's records the consumer is about to decide in it, in log order (see ``Reads``): a
    decide function can read the targets and what it needs of them in bulk, once per batch.
    """
    check_command_type(command_type)
    _check_defaults(decision)

    async def handle(uow: UnitOfWork, _event: CloudEvent, command: C) -> None:
        if command.target_owner_node != node_id:
            return  # another node's record: its owner decides
        target = await load(uow, command.target_id)
        if target is None or getattr(target, "owner_node", node_id) != node_id:
            verdict = decision_for(
                decision,
                command,
                Outcome.REJECTED,
                reason=UNKNOWN_TARGET,
                reason_text=_UNKNOWN_TARGET_TEXT,
            )
        else:
            try:
                if savepoint:
                    # A savepoint: a refusal undoes what decide wrote, not the inbox row before it.
                    async with uow.session.begin_nested():
                        verdict = await decide(uow, command, target)
                else:
                    verdict = await decide(uow, command, target)
            except ShulianError as exc:
                # A rule of the domain refused it: that is a decision, not a failure to retry.
                verdict = decision_for(
                    decision, command, Outcome.REJECTED, reason=exc.code, reason_text=exc.detail
                )
        if verdict.request_id != command.request_id:
            raise ValueError(f"decision for {verdict.request_id} answers {command.request_id}")
        uow.record(verdict, key=command.target_id, subject=command.target_id)

    async def prepare_owned(uow: UnitOfWork, commands: Sequence[C]) -> None:
        assert prepare is not None
        owned = [c for c in commands if c.target_owner_node == node_id]
        if owned:
            await prepare(uow, owned)

    reads = Reads(
        model=reader,
        handle=handle,
        trust=check_command_trust,
        prepare=prepare_owned if prepare is not None else None,
    )
    return Subscription(topic=topic, handlers={command_type: reads})


def _check_defaults(decision: type[DecisionModel]) -> None:
    base = set(DecisionModel.model_fields)
    required = {n for n, f in decision.model_fields.items() if f.is_required() and n not in base}
    if required:
        raise ValueError(f"{decision.__name__}: fields {sorted(required)} need defaults")


# --- following --------------------------------------------------------------------------------


def follows(*, topic: str, decision_types: list[str], node_id: str) -> Subscription:
    """A requester node's subscription to decisions: each settles the ``requests`` row it answers.

    Only rows this node holds, only from the row's owner node, only once.
    """

    async def handle(uow: UnitOfWork, event: CloudEvent, data: DecisionReader) -> None:
        if data.requester_node != node_id:
            return
        await apply_decision(uow.session, event, data)

    reads = Reads(model=DecisionReader, handle=handle)
    return Subscription(topic=topic, handlers=dict.fromkeys(decision_types, reads))


async def apply_decision(session: AsyncSession, event: CloudEvent, data: DecisionReader) -> bool:
    """Settle the request ``data`` answers; ``False`` when there is nothing to settle."""
    row = await session.get(Request, data.request_id)
    if row is None or row.status != PENDING:
        return False
    if row.owner_node != event.node or row.target_id != data.target_id:
        logger.warning(
            "decision %s from %s ignored: request %s is %s's, about %s",
            event.id,
            event.source,
            row.id,
            row.owner_node,
            row.target_id,
        )
        return False
    now = _utc_now()
    row.status = DECIDED
    row.outcome = data.outcome
    row.reason = data.reason
    row.reason_text = data.reason_text
    row.result = data.result
    row.decided_at = event.time
    row.updated_at = now
    await session.flush()
    return True


# --- reading ----------------------------------------------------------------------------------


class RequestRead(Strict):
    """A request and, once the owner node decided it, the decision."""

    id: str
    kind: str
    target_id: str
    owner_node: str = Field(description="the node that decides")
    status: str = Field(description="pending | decided")
    outcome: str | None = Field(description="accepted | rejected, once decided")
    reason: str | None = Field(description="stable code of the reason")
    reason_text: str | None = Field(description="the reason, in Chinese")
    result: dict[str, Any] | None
    created_at: datetime
    decided_at: datetime | None
    age_seconds: float = Field(description="seconds since the request (until decided)")
    overdue: bool = Field(description="pending for longer than the service expects")


def request_read(
    row: Request, *, now: datetime | None = None, overdue_after: timedelta = OVERDUE_AFTER
) -> RequestRead:
    """``row`` as the API shows it."""
    end = row.decided_at or now or _utc_now()
    age = max(0.0, (end - row.created_at).total_seconds())
    return RequestRead(
        id=row.id,
        kind=row.kind,
        target_id=row.target_id,
        owner_node=row.owner_node,
        status=row.status,
        outcome=row.outcome,
        reason=row.reason,
        reason_text=row.reason_text,
        result=row.result,
        created_at=row.created_at,
        decided_at=row.decided_at,
        age_seconds=round(age, 3),
        overdue=row.status == PENDING and age > overdue_after.total_seconds(),
    )


def accepted_response(created: Created[Request], *, location: str) -> JSONResponse:
    """202 with the pending request, its ETag and Location (the URL to follow); replays say so."""
    headers = {"Location": location, "ETag": f'"{created.record.version}"'}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = request_read(created.record).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers=headers)


async def load_request(session: AsyncSession, request_id: str, *, kind: str, label: str) -> Request:
    """The request of ``kind`` with this id, or a 404 problem (``label``: its Chinese name)."""
    row = await session.get(Request, request_id)
    if row is None or row.kind != kind:
        raise NotFoundError(f"{label} {request_id} 不存在", extra={"id": request_id})
    return row
