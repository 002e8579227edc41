"""What several handlers share: publishing an order's snapshot and a grab's decision."""

from __future__ import annotations

from shulian_common.commands import Outcome
from shulian_common.uow import UnitOfWork
from shulian_matching.contracts import GrabDecided, OrderSnapshot, OrderUpdated
from shulian_matching.domain.grabs import REASON_TEXT, GrabStatus, Reason
from shulian_matching.orm import Grab, Order

ACCEPTED = frozenset({GrabStatus.AWARDED, GrabStatus.CONFIRMED})


def record_order(uow: UnitOfWork, order: Order, event: type[OrderSnapshot] = OrderUpdated) -> None:
    """Publish the order's whole new state (keyed by its id, like its grabs)."""
    uow.record(event.model_validate(order, from_attributes=True), key=order.id, subject=order.id)


def decision_of(grab: Grab, *, request_id: str | None = None) -> GrabDecided:
    """The owner's word on a grab as it stands, answering ``request_id`` (default: the grab's)."""
    status = GrabStatus(grab.status)
    reason = Reason(grab.reason) if grab.reason else None
    return GrabDecided(
        request_id=request_id or grab.id,
        requester_node=grab.requester_node,
        target_id=grab.order_id,
        outcome=Outcome.ACCEPTED if status in ACCEPTED else Outcome.REJECTED,
        reason=reason,
        reason_text=REASON_TEXT[reason] if reason else None,
        grab_id=grab.id,
        owner_node=grab.order_owner_node,
        supplier_id=grab.supplier_id,
        status=status,
        terms_version=grab.terms_version,
        requested_at=grab.requested_at,
        seq=grab.seq,
        decided_at=grab.decided_at,
        confirm_by=grab.confirm_by,
    )


def record_decision(uow: UnitOfWork, grab: Grab) -> None:
    """Publish a later decision on a grab (release, voiding, a standby award) keyed by its order."""
    uow.record(decision_of(grab), key=grab.order_id, subject=grab.order_id)
