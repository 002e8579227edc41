"""Consumed events: the registry's suppliers and enterprises (who may register), and other
nodes' activities and registrations (the province-wide calendar, and decisions to follow).

The consumer runner commits: the inbox row and the replica rows land in one transaction. Every
upsert is version-gated, so a redelivered or late older snapshot changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork
from shulian_events import repository
from shulian_events.domain.terms import ParticipantKind
from shulian_events.handlers.activities import materialise
from shulian_events.orm import Activity

if TYPE_CHECKING:  # the reader models are declared with the subscriptions, which import this
    from shulian_events.consumers import (
        ActivityReader,
        EnterpriseReader,
        RegistrationReader,
        SupplierReader,
    )


async def keep_supplier(uow: UnitOfWork, _event: CloudEvent, data: SupplierReader) -> None:
    """Keep the registry's latest snapshot of a supplier (any node's, this one's included)."""
    await repository.upsert_participant(
        uow.session,
        {
            "kind": str(ParticipantKind.SUPPLIER),
            "id": data.id,
            "owner_node": data.owner_node,
            "name": data.name,
            "listing_status": data.listing_status,
            "version": data.version,
            "updated_at": data.updated_at,
        },
    )


async def keep_enterprise(uow: UnitOfWork, _event: CloudEvent, data: EnterpriseReader) -> None:
    """Keep the registry's latest snapshot of an enterprise."""
    await repository.upsert_participant(
        uow.session,
        {
            "kind": str(ParticipantKind.ENTERPRISE),
            "id": data.id,
            "owner_node": data.owner_node,
            "name": data.name,
            "listing_status": None,
            "version": data.version,
            "updated_at": data.updated_at,
        },
    )


def keep_activity(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, ActivityReader], Awaitable[None]]:
    """The handler of other nodes' activity snapshots on ``node_id``."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: ActivityReader) -> None:
        if event.node == node_id:  # our own activities are the originals
            return
        values: dict[str, Any] = data.model_dump()
        values["overrides"] = [o.model_dump(mode="json") for o in data.overrides]
        if await repository.upsert_activity(uow.session, values):
            row = await uow.session.get(Activity, data.id, populate_existing=True)
            assert row is not None
            await materialise(uow.session, row)

    return handle


def keep_registration(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, RegistrationReader], Awaitable[None]]:
    """The handler of other nodes' registration decisions on ``node_id`` (to follow them)."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: RegistrationReader) -> None:
        if event.node == node_id:
            return
        await repository.upsert_registration(uow.session, data.model_dump())

    return handle
