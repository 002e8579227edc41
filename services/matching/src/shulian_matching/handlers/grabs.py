"""Grabs: the request on any node, the owner node's decision, confirmation and release.

A grab is asked on whichever node the supplier uses: that node writes its copy (pending) and a
``grab.requested`` command keyed by the order id. Only the order's owner node decides, as its
consumer meets the commands in log order; the decision and the order's new state are published
together. Deciding locks the order's row (PostgreSQL ``FOR UPDATE``; SQLite has one writer) and
the order's version column refuses a lost update, so a slot is awarded once under any contention.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shulian_common.auth import Principal
from shulian_common.envelope import CloudEvent
from shulian_common.errors import NotFoundError
from shulian_common.records import add, load, utc_now
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_matching import repository
from shulian_matching.contracts import GrabConfirmRequested, GrabRequested
from shulian_matching.domain import access
from shulian_matching.domain.errors import IllegalTransition, OrderNotGrabbable
from shulian_matching.domain.grabs import (
    Decision,
    GrabStatus,
    OrderFacts,
    Reason,
    SupplierFacts,
    confirm_by,
    decide,
    decide_confirmation,
)
from shulian_matching.domain.orders import (
    OrderAction,
    OrderKind,
    OrderStatus,
    Visibility,
    next_status,
)
from shulian_matching.handlers.common import record_decision, record_order
from shulian_matching.orm import Grab, Order, Supplier

if TYPE_CHECKING:  # the reader models are declared with the subscriptions, which import this
    from shulian_matching.consumers import (
        GrabConfirmReader,
        GrabDecidedReader,
        GrabRequestReader,
    )


@dataclass(frozen=True, slots=True)
class GrabRules:
    """The owner node's grab settings."""

    node_id: str
    award_cap: int
    confirm_seconds: int


# --- on the requesting node -------------------------------------------------------------------


async def request_grab(
    uow_factory: UnitOfWorkFactory, *, node_id: str, principal: Principal, order_id: str
) -> Grab:
    """Write the supplier's grab (pending) and send it to the order's owner node to decide."""
    supplier_id = access.ensure_supplier(principal)
    async with uow_factory() as uow:
        order = await load(uow.session, Order, order_id, "订单")
        if order.kind != OrderKind.SERVICE:
            raise OrderNotGrabbable("岗位订单由人才报名接单，机构不能抢单")
        now = utc_now()
        grab = Grab(
            id=uuid.uuid4().hex,
            order_id=order.id,
            order_owner_node=order.owner_node,
            supplier_id=supplier_id,
            requester_node=node_id,
            terms_version=order.terms_version,
            status=GrabStatus.PENDING,
            reason=None,
            seq=0,
            requested_at=now,
            decided_at=None,
            confirm_by=None,
        )
        await add(uow.session, grab)
        command = GrabRequested(
            grab_id=grab.id,
            order_id=order.id,
            supplier_id=supplier_id,
            requester_node=node_id,
            terms_version=order.terms_version,
            requested_at=now,
        )
        uow.record(command, key=order.id, subject=grab.id)
        await uow.commit()
    return grab


async def request_confirmation(
    uow_factory: UnitOfWorkFactory, *, node_id: str, principal: Principal, grab_id: str
) -> Grab:
    """Send the awarded supplier's confirmation to the owner node (which checks the time)."""
    async with uow_factory() as uow:
        grab = await _grab(uow, grab_id)
        access.ensure_supplier(principal, grab.supplier_id)
        if grab.status not in (GrabStatus.AWARDED, GrabStatus.CONFIRMED):
            raise IllegalTransition(
                f"抢单状态为 {grab.status}，只有中标的抢单可以确认",
                extra={"status": grab.status},
            )
        command = GrabConfirmRequested(
            grab_id=grab.id,
            order_id=grab.order_id,
            supplier_id=grab.supplier_id,
            requester_node=node_id,
            requested_at=utc_now(),
        )
        uow.record(command, key=grab.order_id, subject=grab.id)
        await uow.commit()
        uow.session.expunge(grab)
    return grab


async def _grab(uow: UnitOfWork, grab_id: str) -> Grab:
    grab = await repository.grab(uow.session, grab_id)
    if grab is None:
        raise NotFoundError(f"抢单 {grab_id} 不存在", extra={"id": grab_id})
    return grab


# --- on the owner node ------------------------------------------------------------------------


def order_facts(order: Order) -> OrderFacts:
    """What a decision needs of an order row."""
    return OrderFacts(
        kind=OrderKind(order.kind),
        status=OrderStatus(order.status),
        city_code=order.city_code,
        service_line=order.service_line,
        industry=order.industry,
        visibility=Visibility(order.visibility),
        visible_cities=tuple(order.visible_cities),
        slots=order.slots,
        awarded=order.awarded_count,
        terms_version=order.terms_version,
    )


def supplier_facts(supplier: Supplier | None) -> SupplierFacts | None:
    """What a decision needs of a replicated supplier."""
    if supplier is None:
        return None
    return SupplierFacts(
        id=supplier.id,
        city_code=supplier.city_code,
        listing_status=supplier.listing_status,
        service_lines=frozenset(supplier.service_lines),
        industries=frozenset(supplier.industries),
    )


async def _decide_for(uow: UnitOfWork, rules: GrabRules, order: Order, grab: Grab) -> Decision:
    supplier = await repository.supplier(uow.session, grab.supplier_id)
    holds = await repository.supplier_holds(uow.session, order.id, grab.supplier_id)
    awards = await repository.active_awards(uow.session, [grab.supplier_id], rules.node_id)
    return decide(
        order_facts(order),
        supplier_facts(supplier),
        grab_terms_version=grab.terms_version,
        already_holds=holds,
        active_awards=awards.get(grab.supplier_id, 0),
        award_cap=rules.award_cap,
    )


async def _apply(
    uow: UnitOfWork, rules: GrabRules, order: Order, grab: Grab, decision: Decision
) -> None:
    now = utc_now()
    if decision.awarded:
        order.status = next_status(
            OrderStatus(order.status),
            OrderAction.AWARD_SLOT,
            slots=order.slots,
            awarded=order.awarded_count,
        )
        order.awarded_count += 1
        order.updated_at = now
        grab.confirm_by = confirm_by(now, window_seconds=rules.confirm_seconds)
    grab.status = decision.status
    grab.reason = decision.reason
    grab.decided_at = now
    grab.seq = await repository.next_seq(uow.session, order.id)
    await uow.session.flush()  # the snapshot carries the version the flush gives the order
    if decision.awarded:
        record_order(uow, order)
    record_decision(uow, grab)


def decide_grab(
    rules: GrabRules,
) -> Callable[[UnitOfWork, CloudEvent, GrabRequestReader], Awaitable[None]]:
    """The owner's handler of ``grab.requested``: award or reject, in log order."""

    async def handle(uow: UnitOfWork, _event: CloudEvent, data: GrabRequestReader) -> None:
        order = await repository.lock_order(uow.session, data.order_id)
        if order is None or order.owner_node != rules.node_id:
            return  # not ours to decide (an unknown order is decided by the node owning it)
        grab = await repository.grab(uow.session, data.grab_id)
        if grab is None:
            grab = Grab(
                id=data.grab_id,
                order_id=data.order_id,
                order_owner_node=rules.node_id,
                supplier_id=data.supplier_id,
                requester_node=data.requester_node,
                terms_version=data.terms_version,
                status=GrabStatus.PENDING,
                reason=None,
                seq=0,
                requested_at=data.requested_at,
                decided_at=None,
                confirm_by=None,
            )
            await add(uow.session, grab)
        if grab.status != GrabStatus.PENDING:
            return  # decided already (a redelivery) or voided by an edit meanwhile
        await _apply(uow, rules, order, grab, await _decide_for(uow, rules, order, grab))

    return handle


def confirm_grab(
    rules: GrabRules,
) -> Callable[[UnitOfWork, CloudEvent, GrabConfirmReader], Awaitable[None]]:
    """The owner's handler of ``grab.confirm_requested``: confirm an award still in time."""

    async def handle(uow: UnitOfWork, _event: CloudEvent, data: GrabConfirmReader) -> None:
        order = await repository.lock_order(uow.session, data.order_id)
        grab = await repository.grab(uow.session, data.grab_id)
        if order is None or order.owner_node != rules.node_id or grab is None:
            return
        if grab.supplier_id != data.supplier_id or grab.status == GrabStatus.CONFIRMED:
            return
        decision = decide_confirmation(
            GrabStatus(grab.status), deadline=grab.confirm_by, now=utc_now()
        )
        if decision.status is not GrabStatus.CONFIRMED:
            return  # released or voided already: that decision was published then
        grab.status = GrabStatus.CONFIRMED
        grab.decided_at = utc_now()
        record_decision(uow, grab)

    return handle


async def release_overdue(
    uow_factory: UnitOfWorkFactory, rules: GrabRules, *, now: datetime
) -> int:
    """Release awards not confirmed in time and award each slot to the next standby grab."""
    released = 0
    async with uow_factory() as uow:
        for stale in await repository.overdue_awards(uow.session, node_id=rules.node_id, now=now):
            order = await repository.lock_order(uow.session, stale.order_id)
            assert order is not None  # a grab decided here is about an order held here
            order.status = next_status(
                OrderStatus(order.status),
                OrderAction.RELEASE_SLOT,
                slots=order.slots,
                awarded=order.awarded_count,
            )
            order.awarded_count -= 1
            stale.status, stale.reason, stale.decided_at = (
                GrabStatus.RELEASED,
                Reason.CONFIRM_LATE,
                now,
            )
            stale.confirm_by = None
            record_decision(uow, stale)
            await _award_standby(uow, rules, order)
            order.updated_at = now
            await uow.session.flush()
            record_order(uow, order)
            released += 1
        await uow.commit()
    return released


async def _award_standby(uow: UnitOfWork, rules: GrabRules, order: Order) -> None:
    """Give a freed slot to the first standby grab that is still eligible."""
    for waiting in await repository.standby(uow.session, order.id):
        if order.status != OrderStatus.OPEN:
            return
        waiting.status = GrabStatus.PENDING  # decided afresh, on today's facts
        decision = await _decide_for(uow, rules, order, waiting)
        if decision.awarded:
            await _apply(uow, rules, order, waiting, decision)
            return
        if decision.reason is not Reason.NO_SLOT_LEFT:
            await _apply(uow, rules, order, waiting, decision)
        else:
            waiting.status = GrabStatus.REJECTED


# --- on every node ----------------------------------------------------------------------------


def apply_decision(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, GrabDecidedReader], Awaitable[None]]:
    """The requester's handler of ``grab.decided``: its copy of the grab follows the owner."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: GrabDecidedReader) -> None:
        if event.node == node_id:
            return  # we decided it: our row is the decision
        grab = await repository.grab(uow.session, data.grab_id)
        if grab is None or grab.order_owner_node != data.owner_node:
            return  # not asked here, or a word from a node that does not own the order
        await repository.set_grab(
            uow.session,
            grab.id,
            {
                "status": data.status,
                "reason": data.reason,
                "seq": data.seq,
                "decided_at": data.decided_at,
                "confirm_by": data.confirm_by,
            },
        )

    return handle
