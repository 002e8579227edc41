"""Consumed events: the replica of suppliers other nodes own, so records here may name them.

The consumer runner commits: the inbox row and the replica row land in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork
from shulian_registry import repository

if TYPE_CHECKING:  # the reader model is declared with the subscriptions, which import this
    from shulian_registry.consumers import SupplierReader


def replicate_supplier(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, SupplierReader], Awaitable[None]]:
    """The handler of supplier snapshots (registered, updated, listing changed) on ``node_id``."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: SupplierReader) -> None:
        if event.node == node_id:  # our own suppliers are in ``suppliers`` already
            return
        await apply_supplier_snapshot(uow, snapshot=data)

    return handle


async def apply_supplier_snapshot(uow: UnitOfWork, *, snapshot: SupplierReader) -> bool:
    """Keep ``snapshot`` unless a version as new is held; ``True`` if the replica changed."""
    return await repository.upsert_remote_supplier(
        uow.session,
        {
            "id": snapshot.id,
            "owner_node": snapshot.owner_node,
            "name": snapshot.name,
            "county_code": snapshot.county_code,
            "city_code": snapshot.city_code,
            "listing_status": snapshot.listing_status,
            "version": snapshot.version,
            "updated_at": snapshot.updated_at,
        },
    )
