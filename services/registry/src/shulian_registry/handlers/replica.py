"""Consumed events: the replica of suppliers other nodes own, so records here may name them.

The consumer runner commits: the inbox row and the replica row land in one transaction.
"""

from __future__ import annotations

from pydantic import BaseModel

from shulian_common.consumer import Handler
from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork
from shulian_registry import contracts, repository


def replicate_supplier(node_id: str) -> Handler:
    """The handler of supplier snapshots (registered, updated, listing changed) on ``node_id``."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: BaseModel) -> None:
        if event.node == node_id:  # our own suppliers are in ``suppliers`` already
            return
        if not isinstance(data, contracts.SupplierSnapshot):
            raise TypeError(f"{event.type} does not carry a supplier snapshot")
        await apply_supplier_snapshot(uow, snapshot=data)

    return handle


async def apply_supplier_snapshot(uow: UnitOfWork, *, snapshot: contracts.SupplierSnapshot) -> bool:
    """Keep ``snapshot`` unless a version as new is held; ``True`` if the replica changed."""
    return await repository.upsert_remote_supplier(
        uow.session,
        {
            "id": snapshot.id,
            "owner_node": snapshot.owner_node,
            "name": snapshot.name,
            "county_code": snapshot.county_code,
            "city_code": snapshot.city_code,
            "listing_status": snapshot.listing_status.value,
            "version": snapshot.version,
            "updated_at": snapshot.updated_at,
        },
    )
