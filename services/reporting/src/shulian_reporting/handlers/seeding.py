"""Seeding reporting's data (targets, warning rules, shortage levels): insert what is missing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.records import utc_now
from shulian_common.uow import UnitOfWorkFactory

Insert = Callable[[AsyncSession, Sequence[Mapping[str, Any]]], Awaitable[int]]


async def seed(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    insert: Insert,
    values: Iterable[Mapping[str, Any]],
) -> int:
    """Insert the records of ``values`` not there yet (``insert`` skips existing keys), as new
    records of ``node_id``; how many were inserted. Seeding never overwrites."""
    now = utc_now()
    rows = [
        {
            "id": uuid.uuid4().hex,
            "owner_node": node_id,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            **value,
        }
        for value in values
    ]
    async with uow_factory() as uow:
        inserted = await insert(uow.session, rows)
        await uow.commit()
    return inserted
