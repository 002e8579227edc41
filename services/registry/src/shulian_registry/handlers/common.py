"""What every command shares: idempotent creation, loading, versions, placing, authorising."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from shulian_common.auth import Principal
from shulian_common.errors import (
    ConflictError,
    IdempotencyConflictError,
    NotFoundError,
    PreconditionFailedError,
)
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_registry import domain, orm, repository
from shulian_registry.orm import Record

T = TypeVar("T")
R = TypeVar("R", bound=Record)


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An ``Idempotency-Key`` as scoped to its principal, with the request's fingerprint."""

    key: str
    principal_sub: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Created:
    """A create's response: fresh, or replayed from an earlier request with the same key."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def _replay(prior: orm.IdempotencyKey, idempotency: Idempotency) -> Created:
    if prior.fingerprint != idempotency.fingerprint:
        raise IdempotencyConflictError(
            "该 Idempotency-Key 已用于另一个请求", extra={"idempotency_key": idempotency.key}
        )
    return Created(prior.status_code, prior.body, replayed=True)


async def _prior(uow: UnitOfWork, idempotency: Idempotency) -> orm.IdempotencyKey | None:
    return await repository.idempotency_record(
        uow.session, idempotency.principal_sub, idempotency.key
    )


async def create_once(
    uow_factory: UnitOfWorkFactory,
    *,
    idempotency: Idempotency | None,
    work: Callable[[UnitOfWork], Awaitable[T]],
    render: Callable[[T], dict[str, Any]],
) -> Created:
    """Run ``work`` and commit, storing the rendered response under the idempotency key in the
    same transaction; a key seen before replays its stored response instead."""
    try:
        async with uow_factory() as uow:
            if idempotency is not None:
                prior = await _prior(uow, idempotency)
                if prior is not None:
                    return _replay(prior, idempotency)
            body = render(await work(uow))
            if idempotency is not None:
                await repository.add(uow.session, _idempotency_row(idempotency, body))
            await uow.commit()
            return Created(201, body)
    except IntegrityError:
        # A concurrent request won a unique key (same Idempotency-Key, or same USCC).
        if idempotency is not None:
            async with uow_factory() as uow:
                prior = await _prior(uow, idempotency)
            if prior is not None:
                return _replay(prior, idempotency)
        raise ConflictError("与同时进行的另一写入冲突，请重试", code="concurrent_write") from None


def _idempotency_row(idempotency: Idempotency, body: dict[str, Any]) -> orm.IdempotencyKey:
    return orm.IdempotencyKey(
        principal_sub=idempotency.principal_sub,
        key=idempotency.key,
        fingerprint=idempotency.fingerprint,
        status_code=201,
        body=body,
        created_at=utc_now(),
    )


async def load(session: AsyncSession, model: type[R], record_id: str, label: str) -> R:
    """The record, or a 404 problem naming it (``label`` is its Chinese kind)."""
    row = await repository.get(session, model, record_id)
    if row is None:
        raise NotFoundError(f"{label} {record_id} 不存在", extra={"id": record_id})
    return row


Versions = frozenset[int] | None  # what If-Match accepts; None for "*"


def check_version(row: Record, expected: Versions) -> None:
    """Refuse (412) a change based on a version that is no longer current."""
    if expected is not None and row.version not in expected:
        raise PreconditionFailedError(
            f"记录已被修改：当前版本为 {row.version}，请求基于的版本已过期",
            extra={"current_version": row.version},
            headers={"ETag": f'"{row.version}"'},
        )


async def flush_update(session: AsyncSession, row: Record) -> None:
    """Write the change; a writer that committed since we read the row makes this fail."""
    row.updated_at = utc_now()
    try:
        await session.flush()
    except StaleDataError:
        raise PreconditionFailedError("记录已被同时修改，请重新读取后再试") from None


def place(row: Record, division_code: str) -> None:
    """Derive the city from the division the record belongs to."""
    row.city_code = domain.city_code_of(division_code)  # type: ignore[attr-defined]


def authorise_place(principal: Principal, node_id: str, division_code: str) -> None:
    """Writes to a division: an operator in scope, on the node that owns it."""
    domain.ensure_operator_writes(principal, division_code)
    domain.ensure_node_owns(node_id, division_code)


def unchanged(uow: UnitOfWork, row: R) -> R:
    """A change that changes nothing: no new version, no event; the row stays readable after the
    unit of work rolls back (a rollback would expire it)."""
    uow.session.expunge(row)
    return row


def changed_fields(row: object, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes whose value differs from the row's."""
    return {name: value for name, value in changes.items() if getattr(row, name) != value}
