"""Every query of the partner tables, and only queries (callers own the transactions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shulian_common.messaging import (
    idempotency_keys,
    outbox,
    partner_attempts,
    partner_deliveries,
    partner_subscriptions,
)

subs, deliveries, attempts = partner_subscriptions, partner_deliveries, partner_attempts
_EVENT_COLUMNS = [
    outbox.c.position,
    outbox.c.event_id,
    outbox.c.key,
    outbox.c.type,
    outbox.c.source,
    outbox.c.subject,
    outbox.c.time,
    outbox.c.data,
]


async def insert_subscription(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    """Add a subscription."""
    await conn.execute(insert(subs).values(**values))


async def get_subscription(
    conn: AsyncConnection, subscription_id: str, *, partner: str | None = None
) -> Row[Any] | None:
    """A subscription by id, if it is ``partner``'s (any partner's when ``None``)."""
    query = select(subs).where(subs.c.id == subscription_id)
    if partner is not None:
        query = query.where(subs.c.partner == partner)
    return (await conn.execute(query)).first()


async def list_subscriptions(conn: AsyncConnection, partner: str) -> Sequence[Row[Any]]:
    """A partner's subscriptions, oldest first."""
    query = select(subs).where(subs.c.partner == partner).order_by(subs.c.created_at, subs.c.id)
    return (await conn.execute(query)).all()


async def update_subscription(
    conn: AsyncConnection,
    subscription_id: str,
    values: Mapping[str, Any],
    *,
    version: int | None = None,
) -> bool:
    """Change a subscription's columns (only if it still has ``version``); whether it did."""
    query = update(subs).where(subs.c.id == subscription_id)
    if version is not None:
        query = query.where(subs.c.version == version)
    return bool((await conn.execute(query.values(**values))).rowcount)


async def stored_key(conn: AsyncConnection, principal_sub: str, key: str) -> Row[Any] | None:
    """The fingerprint and body an ``Idempotency-Key`` was first used with, if it was."""
    table = idempotency_keys
    query = select(table).where(table.c.principal_sub == principal_sub, table.c.key == key)
    return (await conn.execute(query)).first()


async def remember_key(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    """Keep an ``Idempotency-Key`` with what its request created (the kit's table and form)."""
    await conn.execute(insert(idempotency_keys).values(**values))


async def delete_subscription(conn: AsyncConnection, subscription_id: str) -> None:
    """Remove a subscription with its deliveries and their attempts."""
    await conn.execute(delete(attempts).where(attempts.c.subscription_id == subscription_id))
    await conn.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
    await conn.execute(delete(subs).where(subs.c.id == subscription_id))


async def highest_position(conn: AsyncConnection) -> int:
    """The outbox's highest position (0 when nothing was published yet)."""
    found = (await conn.execute(select(func.max(outbox.c.position)))).scalar_one_or_none()
    return int(found or 0)


async def behind_subscription_ids(conn: AsyncConnection) -> list[str]:
    """Ids of active subscriptions not yet matched against the latest published event."""
    latest = select(func.coalesce(func.max(outbox.c.position), 0)).scalar_subquery()
    query = (
        select(subs.c.id)
        .where(subs.c.status == "active", subs.c.position < latest)
        .order_by(subs.c.id)
    )
    return list((await conn.execute(query)).scalars())


async def lock_subscription(
    conn: AsyncConnection, subscription_id: str, *, postgres: bool
) -> Row[Any] | None:
    """An active subscription, locked for its fan-out (skipped if another dispatcher holds it)."""
    query = select(subs).where(subs.c.id == subscription_id, subs.c.status == "active")
    if postgres:
        query = query.with_for_update(skip_locked=True)
    return (await conn.execute(query)).first()


async def published_after(conn: AsyncConnection, position: int, limit: int) -> Sequence[Row[Any]]:
    """Published outbox rows after ``position``, in position order."""
    query = (
        select(*_EVENT_COLUMNS)
        .where(outbox.c.position > position)
        .order_by(outbox.c.position)
        .limit(limit)
    )
    return (await conn.execute(query)).all()


async def insert_deliveries(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add deliveries."""
    if rows:
        await conn.execute(insert(deliveries), list(rows))


async def due_subscription_ids(conn: AsyncConnection, now: datetime) -> list[str]:
    """Active subscriptions with a pending delivery due by ``now``."""
    query = (
        select(deliveries.c.subscription_id)
        .join(subs, subs.c.id == deliveries.c.subscription_id)
        .where(
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at <= now,
            subs.c.status == "active",
        )
        .distinct()
    )
    return list((await conn.execute(query)).scalars())


async def claim_due(
    conn: AsyncConnection, subscription_id: str, *, now: datetime, until: datetime, limit: int
) -> Sequence[Row[Any]]:
    """Due pending deliveries of one subscription, claimed (next attempt moved to ``until``)."""
    query = (
        select(deliveries)
        .where(
            deliveries.c.subscription_id == subscription_id,
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at <= now,
        )
        .order_by(deliveries.c.position)
        .limit(limit)
    )
    rows = (await conn.execute(query)).all()
    if rows:
        ids = [row.id for row in rows]
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids), deliveries.c.next_attempt_at <= now)
            .values(next_attempt_at=until)
        )
    return rows


async def event_data(conn: AsyncConnection, event_ids: Sequence[str]) -> dict[str, Any]:
    """The ``data`` of published events by id (those still in the outbox)."""
    if not event_ids:
        return {}
    query = select(outbox.c.event_id, outbox.c.data).where(outbox.c.event_id.in_(list(event_ids)))
    return {row.event_id: row.data for row in (await conn.execute(query)).all()}


async def refuse(conn: AsyncConnection, delivery_ids: Sequence[str], reason: str) -> None:
    """Fail claimed deliveries for good without sending them (no attempt is logged)."""
    if delivery_ids:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(delivery_ids)), deliveries.c.status == "pending")
            .values(status="failed", next_attempt_at=None, last_error=reason)
        )


async def record_attempt(
    conn: AsyncConnection, *, attempt: Mapping[str, Any], delivery: Mapping[str, Any]
) -> None:
    """Log one attempt and update its delivery."""
    await conn.execute(insert(attempts).values(**attempt))
    await conn.execute(
        update(deliveries).where(deliveries.c.id == attempt["delivery_id"]).values(**delivery)
    )


async def list_deliveries(
    conn: AsyncConnection,
    subscription_id: str,
    *,
    before: int | None,
    status: str | None,
    limit: int,
) -> Sequence[Row[Any]]:
    """A subscription's deliveries, newest first, below position ``before``."""
    query = select(deliveries).where(deliveries.c.subscription_id == subscription_id)
    if before is not None:
        query = query.where(deliveries.c.position < before)
    if status is not None:
        query = query.where(deliveries.c.status == status)
    query = query.order_by(deliveries.c.position.desc()).limit(limit)
    return (await conn.execute(query)).all()


async def get_delivery(
    conn: AsyncConnection, subscription_id: str, delivery_id: str
) -> Row[Any] | None:
    """One delivery of a subscription."""
    query = select(deliveries).where(
        deliveries.c.id == delivery_id, deliveries.c.subscription_id == subscription_id
    )
    return (await conn.execute(query)).first()


async def list_attempts(conn: AsyncConnection, delivery_id: str) -> Sequence[Row[Any]]:
    """A delivery's attempts, oldest first."""
    query = select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.id)
    return (await conn.execute(query)).all()


async def requeue_delivery(conn: AsyncConnection, delivery_id: str, now: datetime) -> None:
    """Make a delivery due now with a fresh retry budget (its attempt log stays)."""
    await conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(status="pending", attempts=0, next_attempt_at=now)
    )


async def release(
    conn: AsyncConnection,
    delivery_ids: Sequence[str],
    at: datetime,
    *,
    leased_until: datetime | None = None,
) -> None:
    """Give claimed deliveries back, due at ``at``, their attempts unchanged; with
    ``leased_until``, only those whose claim still stands (no attempt recorded since moved
    their next attempt off it)."""
    if delivery_ids:
        query = update(deliveries).where(
            deliveries.c.id.in_(list(delivery_ids)), deliveries.c.status == "pending"
        )
        if leased_until is not None:
            query = query.where(deliveries.c.next_attempt_at == leased_until)
        await conn.execute(query.values(next_attempt_at=at))
