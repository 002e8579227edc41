"""Consumed events: the replica of suppliers other nodes own, a full part of the directory.

Every node serves the province's directory, so a replicated supplier is kept whole (all that a
snapshot carries) and indexed under the same search terms as a local one. Applying a snapshot is
also where a USCC registered on two nodes at once is noticed: the second registration to arrive
is the first moment any node can see both (see ``domain.first_of`` for which one keeps it).

The consumer runner commits: the inbox row, the replica row, its terms, a conflict row and its
event land in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shulian_common.envelope import CloudEvent
from shulian_common.records import utc_now
from shulian_common.uow import UnitOfWork
from shulian_registry import contracts, domain, orm, repository
from shulian_registry.domain import Registration
from shulian_registry.handlers.suppliers import facts
from shulian_registry.terms import supplier_terms

if TYPE_CHECKING:  # the reader model is declared with the subscriptions, which import this
    from shulian_registry.consumers import SupplierReader


def replicate_supplier(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, SupplierReader], Awaitable[None]]:
    """The handler of supplier snapshots (registered, updated, listing changed) on ``node_id``."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: SupplierReader) -> None:
        if event.node == node_id:  # our own suppliers are in ``suppliers`` already
            return
        if await apply_supplier_snapshot(uow, snapshot=data):
            await detect_uscc_conflicts(uow, snapshot=data, node_id=node_id)

    return handle


async def apply_supplier_snapshot(uow: UnitOfWork, *, snapshot: SupplierReader) -> bool:
    """Keep ``snapshot`` unless a version as new is held; ``True`` if the replica changed.

    The search terms move from the held snapshot's to the new one's in the same transaction.
    """
    held = await repository.remote_supplier(uow.session, snapshot.id)
    if held is not None and held.version >= snapshot.version:
        return False
    # A row kept before the replica held whole entries (version 0) was never indexed.
    before = supplier_terms(facts(held)) if held is not None and held.version > 0 else set()
    values = snapshot.model_dump()
    written = await repository.upsert_remote_supplier(uow.session, values)
    if written:
        after = supplier_terms(facts(orm.RemoteSupplier(**values)))
        await repository.remove_terms(uow.session, snapshot.id, before - after)
        await repository.add_terms(uow.session, snapshot.id, after - before)
    return written


async def detect_uscc_conflicts(uow: UnitOfWork, *, snapshot: SupplierReader, node_id: str) -> None:
    """List each other supplier holding the snapshot's USCC as a conflict (once per pair); the
    owner of the duplicate publishes it."""
    incoming = Registration(snapshot.id, snapshot.owner_node, snapshot.created_at)
    for other in await repository.registrations_of_uscc(
        uow.session, snapshot.uscc, other_than=snapshot.id
    ):
        kept, duplicate = domain.first_of(incoming, other)
        now = utc_now()
        conflict_id = domain.new_id(now)
        listed = await repository.add_conflict(
            uow.session,
            {
                "id": conflict_id,
                "uscc": snapshot.uscc,
                "first_id": kept.supplier_id,
                "first_owner_node": kept.owner_node,
                "first_registered_at": kept.registered_at,
                "second_id": duplicate.supplier_id,
                "second_owner_node": duplicate.owner_node,
                "second_registered_at": duplicate.registered_at,
                "detected_at": now,
            },
        )
        if listed and duplicate.owner_node == node_id:
            event = contracts.SupplierUsccConflictDetected(
                conflict_id=conflict_id,
                uscc=snapshot.uscc,
                id=duplicate.supplier_id,
                owner_node=duplicate.owner_node,
                registered_at=duplicate.registered_at,
                kept_id=kept.supplier_id,
                kept_owner_node=kept.owner_node,
                kept_registered_at=kept.registered_at,
                detected_at=now,
            )
            uow.record(event, key=duplicate.supplier_id, subject=duplicate.supplier_id)
