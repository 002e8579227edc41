"""Grabs: the request on any node, the owner node's decision, confirmation and release.

Built on the kit's "request on any node, the owner decides" (``shulian_common.commands``): a grab
is asked on whichever node the supplier uses; that node writes the kit's request row and its own
copy of the grab (pending) and sends a ``grab.requested`` command keyed by the order id. Only the
order's owner node decides (``decides``), as its consumer meets the commands in log order; the
decision and the order's new state are published together. Deciding locks the order's row
(PostgreSQL ``FOR UPDATE``; SQLite has one writer) and the order's version column refuses a lost
update, so a slot is awarded once under any contention. Confirmations travel the same way.

The consumer decides a batch of commands in one transaction; ``prepare_grabs`` reads what the
batch needs in bulk first (its orders, locked; its grabs, suppliers, held slots, the suppliers'
awards and each order's last decision number) and the decisions keep that picture current as they
award slots, so a decision costs no query of its own: only its grab's write (and, for an award,
the order's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shulian_common.auth import Principal
from shulian_common.commands import (
    DECIDED,
    Outcome,
    Request,
    apply_decision,
    new_request_id,
    send_command,
)
from shulian_common.envelope import CloudEvent
from shulian_common.errors import NotFoundError
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import add, load, utc_now
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_matching import repository
from shulian_matching.contracts import ConfirmationRequested, GrabDecided, GrabRequested
from shulian_matching.domain import access
from shulian_matching.domain.errors import IllegalTransition, OrderNotGrabbable
from shulian_matching.domain.grabs import (
    REASON_TEXT,
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
from shulian_matching.handlers.common import decision_of, record_decision, record_order
from shulian_matching.orm import Grab, Order, Supplier

if TYPE_CHECKING:  # the reader models are declared with the subscriptions, which import this
    from shulian_matching.consumers import (
        ConfirmationReader,
        GrabDecidedReader,
        GrabRequestReader,
    )

GRAB, CONFIRMATION = "grab", "grab_confirmation"  # kinds of the kit's request rows


@dataclass(frozen=True, slots=True)
class GrabRules:
    """The owner node's grab settings."""

    node_id: str
    award_cap: int
    confirm_seconds: int


# --- on the requesting node -------------------------------------------------------------------


async def request_grab(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    order_id: str,
    idempotency: Idempotency | None,
) -> Created[Request]:
    """Write the supplier's grab (pending) and send it to the order's owner node to decide."""
    supplier_id = access.ensure_supplier(principal)

    async def work(uow: UnitOfWork) -> Request:
        order = await load(uow.session, Order, order_id, "订单")
        if order.kind != OrderKind.SERVICE:
            raise OrderNotGrabbable("岗位订单由人才报名接单，机构不能抢单")
        command = GrabRequested(
            request_id=new_request_id(),
            requester_node=node_id,
            target_id=order.id,
            target_owner_node=order.owner_node,
            supplier_id=supplier_id,
            terms_version=order.terms_version,
            requested_at=utc_now(),
        )
        await add(uow.session, _pending_grab(command))
        return await send_command(uow, command, kind=GRAB, requester_sub=principal.sub)

    return await create_once(uow_factory, Request, idempotency=idempotency, work=work)


def _pending_grab(command: GrabRequestReader | GrabRequested) -> Grab:
    return Grab(
        id=command.request_id,
        order_id=command.target_id,
        order_owner_node=command.target_owner_node,
        supplier_id=command.supplier_id,
        requester_node=command.requester_node,
        terms_version=command.terms_version,
        status=GrabStatus.PENDING,
        reason=None,
        seq=0,
        requested_at=command.requested_at,
        decided_at=None,
        confirm_by=None,
    )


async def request_confirmation(
    uow_factory: UnitOfWorkFactory, *, node_id: str, principal: Principal, grab_id: str
) -> Created[Request]:
    """Send the awarded supplier's confirmation to the owner node (which checks the time)."""

    async def work(uow: UnitOfWork) -> Request:
        grab = await repository.grab(uow.session, grab_id)
        if grab is None:
            raise NotFoundError(f"抢单 {grab_id} 不存在", extra={"id": grab_id})
        access.ensure_supplier(principal, grab.supplier_id)
        if grab.status not in (GrabStatus.AWARDED, GrabStatus.CONFIRMED):
            raise IllegalTransition(
                f"抢单状态为 {grab.status}，只有中标的抢单可以确认",
                extra={"status": grab.status},
            )
        command = ConfirmationRequested(
            request_id=new_request_id(),
            requester_node=node_id,
            target_id=grab.order_id,
            target_owner_node=grab.order_owner_node,
            grab_id=grab.id,
            supplier_id=grab.supplier_id,
        )
        return await send_command(uow, command, kind=CONFIRMATION, requester_sub=principal.sub)

    return await create_once(uow_factory, Request, idempotency=None, work=work)


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


@dataclass(slots=True)
class _Batch:
    """What ``prepare_grabs`` read for the grab commands of one transaction, kept current by the
    decisions taken in it. A key missing from a map means "not read": ask the database."""

    transaction: object  # the session's transaction this was read in; valid only in it
    orders: dict[str, Order | None]
    grabs: dict[str, Grab | None]
    suppliers: dict[str, Supplier | None]
    held: set[tuple[str, str]]  # (order, supplier): the supplier holds a slot of the order
    awards: dict[str, int]  # a supplier's awards on unfinished orders, as ``active_awards``
    seqs: dict[str, int]  # an order's last decision number


_BATCH = "shulian_matching.grab_batch"


def _batch(uow: UnitOfWork) -> _Batch | None:
    batch = uow.session.info.get(_BATCH)
    current = uow.session.sync_session.get_transaction()
    return batch if isinstance(batch, _Batch) and batch.transaction is current else None


def _forget_awards(uow: UnitOfWork, supplier_id: str) -> None:
    """Another owner's decision changed what the supplier holds: count its awards afresh."""
    batch = _batch(uow)
    if batch is not None:
        batch.awards.pop(supplier_id, None)


async def prepare_grabs(uow: UnitOfWork, commands: Sequence[GrabRequestReader]) -> None:
    """Read in bulk what deciding ``commands`` (this node's, in one transaction) needs."""
    session = uow.session
    order_ids = sorted({c.target_id for c in commands})
    grab_ids = sorted({c.request_id for c in commands})
    supplier_ids = sorted({c.supplier_id for c in commands})
    orders: dict[str, Order | None] = dict.fromkeys(order_ids)
    orders.update({o.id: o for o in await repository.lock_orders(session, order_ids)})
    grabs: dict[str, Grab | None] = dict.fromkeys(grab_ids)
    grabs.update({g.id: g for g in await repository.grabs_by_id(session, grab_ids)})
    suppliers: dict[str, Supplier | None] = dict.fromkeys(supplier_ids)
    suppliers.update({s.id: s for s in await repository.suppliers_by_id(session, supplier_ids)})
    awards = dict.fromkeys(supplier_ids, 0)
    awards.update(await repository.active_awards(session, supplier_ids))
    seqs = dict.fromkeys(order_ids, 0)
    seqs.update(await repository.last_seqs(session, order_ids))
    session.info[_BATCH] = _Batch(
        transaction=session.sync_session.get_transaction(),
        orders=orders,
        grabs=grabs,
        suppliers=suppliers,
        held=await repository.held_slots(session, order_ids, supplier_ids),
        awards=awards,
        seqs=seqs,
    )


async def _decide_in_batch(
    uow: UnitOfWork, rules: GrabRules, batch: _Batch, command: GrabRequestReader, order: Order
) -> Grab:
    """Decide ``command`` from what ``batch`` read; write the grab (and the order, if awarded)."""
    grab = batch.grabs[command.request_id]
    if grab is not None and grab.status != GrabStatus.PENDING:
        return grab  # decided before (another copy of the command)
    new = grab is None
    grab = _pending_grab(command) if grab is None else grab
    supplier_id = grab.supplier_id
    if supplier_id not in batch.awards:  # another owner's decision on it came in this batch
        found = await repository.active_awards(uow.session, [supplier_id])
        batch.awards[supplier_id] = found.get(supplier_id, 0)
    decision = decide(
        order_facts(order),
        supplier_facts(batch.suppliers[supplier_id]),
        grab_terms_version=grab.terms_version,
        already_holds=(order.id, supplier_id) in batch.held,
        active_awards=batch.awards[supplier_id],
        award_cap=rules.award_cap,
    )
    seq = batch.seqs[order.id] + 1
    await _apply(uow, rules, order, grab, decision, seq=seq, add_grab=new)
    batch.grabs[grab.id] = grab
    batch.seqs[order.id] = seq
    if decision.awarded:
        batch.held.add((order.id, supplier_id))
        batch.awards[supplier_id] += 1
    return grab


def _covers(batch: _Batch | None, command: GrabRequestReader, order: Order) -> _Batch | None:
    """``batch``, if it read everything deciding ``command`` needs."""
    if batch is None or order.id not in batch.seqs or command.request_id not in batch.grabs:
        return None
    grab = batch.grabs[command.request_id]
    supplier_id = command.supplier_id if grab is None else grab.supplier_id
    return batch if supplier_id in batch.suppliers else None


async def _decide_for(uow: UnitOfWork, rules: GrabRules, order: Order, grab: Grab) -> Decision:
    supplier = await repository.supplier(uow.session, grab.supplier_id)
    holds = await repository.supplier_holds(uow.session, order.id, grab.supplier_id)
    awards = await repository.active_awards(uow.session, [grab.supplier_id])
    return decide(
        order_facts(order),
        supplier_facts(supplier),
        grab_terms_version=grab.terms_version,
        already_holds=holds,
        active_awards=awards.get(grab.supplier_id, 0),
        award_cap=rules.award_cap,
    )


async def _apply(
    uow: UnitOfWork,
    rules: GrabRules,
    order: Order,
    grab: Grab,
    decision: Decision,
    *,
    seq: int | None = None,
    add_grab: bool = False,
) -> None:
    """Write ``decision`` on ``grab`` (numbered ``seq``, else the order's next number; staged
    first if ``add_grab``) and on the order; an award publishes the order's new state."""
    now = utc_now()
    status = OrderStatus(order.status)
    if decision.awarded:  # the one refusal possible here comes before anything is written
        status = next_status(
            status, OrderAction.AWARD_SLOT, slots=order.slots, awarded=order.awarded_count
        )
    grab.seq = seq if seq is not None else await repository.next_seq(uow.session, order.id)
    grab.status = decision.status
    grab.reason = decision.reason
    grab.decided_at = now
    if add_grab:
        uow.session.add(grab)
    if decision.awarded:
        order.status = status
        order.awarded_count += 1
        order.updated_at = now
        grab.confirm_by = confirm_by(now, window_seconds=rules.confirm_seconds)
        await uow.session.flush()  # the snapshot carries the version the flush gives the order
        record_order(uow, order)


async def load_order(uow: UnitOfWork, order_id: str) -> Order | None:
    """The order a command is about, locked for the decision (by ``prepare_grabs``, if it read
    it in this transaction)."""
    batch = _batch(uow)
    if batch is not None and order_id in batch.orders:
        return batch.orders[order_id]
    return await repository.lock_order(uow.session, order_id)


def decide_grab(
    rules: GrabRules,
) -> Callable[[UnitOfWork, GrabRequestReader, Order], Awaitable[GrabDecided]]:
    """The owner's decision on ``grab.requested``: award or reject, in log order."""

    async def decide_fn(uow: UnitOfWork, command: GrabRequestReader, order: Order) -> GrabDecided:
        batch = _covers(_batch(uow), command, order)
        if batch is not None:
            return decision_of(await _decide_in_batch(uow, rules, batch, command, order))
        grab = await repository.grab(uow.session, command.request_id)
        new = grab is None
        grab = _pending_grab(command) if grab is None else grab
        if grab.status == GrabStatus.PENDING:
            decision = await _decide_for(uow, rules, order, grab)
            await _apply(uow, rules, order, grab, decision, add_grab=new)
        return decision_of(grab)

    return decide_fn


def confirm_grab(
    rules: GrabRules,  # noqa: ARG001 - the same shape as decide_grab
) -> Callable[[UnitOfWork, ConfirmationReader, Order], Awaitable[GrabDecided]]:
    """The owner's decision on ``confirmation.requested``: confirm an award still in time."""

    async def decide_fn(uow: UnitOfWork, command: ConfirmationReader, order: Order) -> GrabDecided:
        grab = await repository.grab(uow.session, command.grab_id)
        if grab is None or grab.order_id != order.id or grab.supplier_id != command.supplier_id:
            raise NotFoundError(f"抢单 {command.grab_id} 不存在", code="grab_unknown")
        now = utc_now()
        decision = decide_confirmation(GrabStatus(grab.status), deadline=grab.confirm_by, now=now)
        if decision.status is GrabStatus.CONFIRMED and grab.status != GrabStatus.CONFIRMED:
            grab.status = GrabStatus.CONFIRMED
            grab.decided_at = now
            await uow.session.flush()
        verdict = decision_of(grab, request_id=command.request_id)
        if decision.reason is None:
            return verdict
        return verdict.model_copy(
            update={
                "outcome": Outcome.REJECTED,
                "reason": decision.reason,
                "reason_text": REASON_TEXT[decision.reason],
            }
        )

    return decide_fn


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
        if decision.awarded or decision.reason is not Reason.NO_SLOT_LEFT:
            await _apply(uow, rules, order, waiting, decision)
            record_decision(uow, waiting)
            if decision.awarded:
                return
        else:
            waiting.status = GrabStatus.REJECTED


# --- on the requesting node, again ------------------------------------------------------------


def follow_decision(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, GrabDecidedReader], Awaitable[None]]:
    """The requester's handler of ``grab.decided``: the kit's request row is settled by the first
    decision; this node's copy of the grab follows every later one too (confirmed, released,
    voided, a standby grab awarded)."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: GrabDecidedReader) -> None:
        if data.requester_node != node_id:
            if event.node != node_id:
                await _keep_decision(uow, event, data)
            return
        if not await apply_decision(uow.session, event, data):
            await _follow_request(uow, event, data)
        if event.node == node_id or not data.grab_id or data.status is None:
            return  # we decided it: our grab row is the decision
        if data.request_id != data.grab_id and data.outcome == Outcome.REJECTED:
            return  # a refused confirmation leaves the grab as it was
        grab = await repository.grab(uow.session, data.grab_id)
        if grab is None or grab.order_owner_node != event.node:
            return  # not asked here, or a word from a node that does not own the order
        _forget_awards(uow, grab.supplier_id)
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


async def _keep_decision(uow: UnitOfWork, event: CloudEvent, data: GrabDecidedReader) -> None:
    """Keep another owner node's decision on a grab asked on a third node: the award cap counts a
    supplier's awards across the province from these (eventually: see the README's Choices)."""
    if not data.grab_id or data.status is None or not data.supplier_id:
        return
    if data.owner_node is not None and data.owner_node != event.node:
        return  # only the order's owner decides its grabs
    _forget_awards(uow, data.supplier_id)
    await repository.keep_decision(
        uow.session,
        {
            "id": data.grab_id,
            "order_id": data.target_id,
            "order_owner_node": event.node,
            "supplier_id": data.supplier_id,
            "requester_node": data.requester_node,
            "terms_version": data.terms_version,
            "status": data.status,
            "reason": data.reason if data.request_id == data.grab_id else None,
            "seq": data.seq,
            "requested_at": data.requested_at or event.time,
            "decided_at": data.decided_at,
            "confirm_by": data.confirm_by,
        },
    )


async def _follow_request(uow: UnitOfWork, event: CloudEvent, data: GrabDecidedReader) -> None:
    """A later word on a grab (a standby grab awarded a freed slot, a release, a voiding) moves
    the grab's request row too: the kit settles a request once, but the requester's request must
    say where the grab stands now, not what its first decision said."""
    if data.request_id != data.grab_id or data.status is None:
        return  # a confirmation's answer, or a decision without the grab's state
    row = await uow.session.get(Request, data.request_id)
    if row is None or row.kind != GRAB or row.status != DECIDED:
        return
    if row.owner_node != event.node or row.target_id != data.target_id:
        return  # only the order's owner speaks about its grabs
    if (row.outcome, row.reason, row.result) == (data.outcome, data.reason, data.result):
        return
    row.outcome, row.reason, row.reason_text = data.outcome, data.reason, data.reason_text
    row.result = data.result
    row.decided_at = event.time
    row.updated_at = utc_now()
    await uow.session.flush()
