"""Consumed snapshots: every supplier of the province (registry), every other node's orders and
its talents' summaries (no personal data).

The consumer runner commits: the inbox row and the replica row land in one transaction. Only a
newer version replaces a held one, so redeliveries and replays change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork
from shulian_matching import repository
from shulian_matching.orm import Order, TalentSummary

if TYPE_CHECKING:  # the reader models are declared with the subscriptions, which import this
    from shulian_matching.consumers import OrderReader, SupplierReader, TalentSummaryReader

HIGH_END_LINES = frozenset({"headhunting", "assessment", "consulting", "hr_software"})


async def replicate_supplier(uow: UnitOfWork, _event: CloudEvent, data: SupplierReader) -> None:
    """Keep the supplier as grabs and ranking need it (matching holds no suppliers of its own)."""
    await repository.upsert_supplier(
        uow.session,
        {
            "id": data.id,
            "owner_node": data.owner_node,
            "version": data.version,
            "updated_at": data.updated_at,
            "name": data.name,
            "city_code": data.city_code,
            "listing_status": data.listing_status,
            "high_end": data.high_end,
            "service_lines": sorted(set(data.service_lines)),
            "industries": sorted(set(data.industries)),
        },
    )


def replicate_order(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, OrderReader], Awaitable[None]]:
    """The handler of other nodes' order snapshots on ``node_id``."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: OrderReader) -> None:
        if event.node == node_id:  # our own orders are written here already
            return
        await repository.upsert_newer(uow.session, Order.__table__, data.model_dump())

    return handle


def replicate_talent(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, TalentSummaryReader], Awaitable[None]]:
    """The handler of other nodes' ``talent.saved`` on ``node_id``: their summaries, ranked for
    job orders beside this node's own talents."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: TalentSummaryReader) -> None:
        if event.node == node_id:  # our own talents are held here whole
            return
        values = data.model_dump()
        values["skills"] = list(values["skills"])
        await repository.upsert_newer(uow.session, TalentSummary.__table__, values)

    return handle
