"""Idempotent creation: a retried create with the same ``Idempotency-Key`` and request creates
nothing and answers with what the first one created.

HTTP stays out of the handlers: a handler hands ``create_once`` the key (scoped to its caller,
with a fingerprint of the request) and the work that creates one record, and gets the record
back — new, or the one an earlier request with the key created, flagged ``replayed``. The key's
row is written in the same transaction as the record, so either both exist or neither does; two
concurrent requests with one key race on its primary key, and the loser replays the winner's.

The row holds the created record by reference (id and version), not a rendered response: the
route renders the record, first time and on replay alike, so a replay shows the record as it is
now (its ETag says which version) and nothing below the route knows about responses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.errors import ConflictError, IdempotencyConflictError, NotFoundError
from shulian_common.messaging import idempotency_keys
from shulian_common.records import R, Record, utc_now
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory

# The ``status_code`` column predates replays by reference; what it stores is always a creation.
_CREATED = 201


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An ``Idempotency-Key`` as scoped to its principal, with the request's fingerprint."""

    key: str
    principal_sub: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Created(Generic[R]):
    """The record a create returned: new, or replayed from an earlier request with its key."""

    record: R
    replayed: bool = False


async def create_once(
    uow_factory: UnitOfWorkFactory,
    model: type[R],
    *,
    idempotency: Idempotency | None,
    work: Callable[[UnitOfWork], Awaitable[R]],
) -> Created[R]:
    """Run ``work`` (which creates one ``model`` record) and commit it with the key's row; a key
    seen before returns the record it created instead (422 when the request differs)."""
    try:
        async with uow_factory() as uow:
            if idempotency is not None and (prior := await _prior(uow, model, idempotency)):
                return prior
            row = await work(uow)
            if idempotency is not None:
                await _remember(uow.session, idempotency, row)
            await uow.commit()
            return Created(row)
    except IntegrityError:
        # A concurrent request won a unique key (this Idempotency-Key, or a natural key).
        if idempotency is not None:
            async with uow_factory() as uow:
                prior = await _prior(uow, model, idempotency)
            if prior is not None:
                return prior
        raise ConflictError("与同时进行的另一写入冲突，请重试", code="concurrent_write") from None


async def _prior(uow: UnitOfWork, model: type[R], idempotency: Idempotency) -> Created[R] | None:
    """The record an earlier request with this key created, if there was one."""
    stored = await _stored(uow.session, idempotency)
    if stored is None:
        return None
    fingerprint, body = stored
    if fingerprint != idempotency.fingerprint:
        raise IdempotencyConflictError(
            "该 Idempotency-Key 已用于另一个请求", extra={"idempotency_key": idempotency.key}
        )
    record_id = body.get("id")
    row = await uow.session.get(model, record_id) if isinstance(record_id, str) else None
    if row is None:
        raise NotFoundError(
            "该 Idempotency-Key 的原请求所建记录已不存在",
            extra={"idempotency_key": idempotency.key},
        )
    # Detached, so the rollback that ends this read-only unit of work does not expire it.
    uow.session.expunge(row)
    return Created(row, replayed=True)


async def _stored(session: AsyncSession, idempotency: Idempotency) -> tuple[str, Any] | None:
    table = idempotency_keys
    stmt = select(table.c.fingerprint, table.c.body).where(
        table.c.principal_sub == idempotency.principal_sub, table.c.key == idempotency.key
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row.fingerprint, row.body)


async def _remember(session: AsyncSession, idempotency: Idempotency, row: Record) -> None:
    await session.execute(
        insert(idempotency_keys).values(
            principal_sub=idempotency.principal_sub,
            key=idempotency.key,
            fingerprint=idempotency.fingerprint,
            status_code=_CREATED,
            body={"id": row.id, "version": row.version},
            created_at=utc_now(),
        )
    )
