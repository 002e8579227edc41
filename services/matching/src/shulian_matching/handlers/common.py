"""What several handlers share: publishing an order's snapshot and a grab's decision."""

from __future__ import annotations

from shulian_common.uow import UnitOfWork
from shulian_matching.contracts import GrabDecided, OrderSnapshot, OrderUpdated
from shulian_matching.domain.grabs import REASON_TEXT, GrabStatus, Reason
from shulian_matching.orm import Grab, Order


def record_order(uow: UnitOfWork, order: Order, event: type[OrderSnapshot] = OrderUpdated) -> None:
    """Publish the order's whole new state (keyed by its id, like its grabs)."""
    uow.record(event.model_validate(order, from_attributes=True), key=order.id, subject=order.id)


def record_decision(uow: UnitOfWork, grab: Grab) -> None:
    """Publish the owner's word on a grab, for the requesting node and everyone else."""
    reason = Reason(grab.reason) if grab.reason else None
    assert grab.decided_at is not None  # a decision always has its time
    decided = GrabDecided(
        grab_id=grab.id,
        order_id=grab.order_id,
        owner_node=grab.order_owner_node,
        supplier_id=grab.supplier_id,
        requester_node=grab.requester_node,
        status=GrabStatus(grab.status),
        reason=reason,
        reason_text=REASON_TEXT[reason] if reason else None,
        seq=grab.seq,
        decided_at=grab.decided_at,
        confirm_by=grab.confirm_by,
    )
    uow.record(decided, key=grab.order_id, subject=grab.id)
