"""Order commands: place, edit (voiding grabs made on old terms), start, fulfil, cancel."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from shulian_common.auth import Principal
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import (
    Versions,
    add,
    changed_fields,
    check_version,
    flush_update,
    load,
    unchanged,
    utc_now,
)
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_matching import repository
from shulian_matching.contracts import OrderFulfilled, OrderPlaced
from shulian_matching.domain import access
from shulian_matching.domain.errors import InvalidOccupation, NotOwnerNode, TermsLocked
from shulian_matching.domain.grabs import GrabStatus, Reason, voided_by_edit
from shulian_matching.domain.orders import (
    OrderAction,
    OrderKind,
    OrderStatus,
    Visibility,
    changes_terms,
    check_shape,
    next_status,
)
from shulian_matching.domain.talents import is_occupation
from shulian_matching.handlers.common import record_decision, record_order
from shulian_matching.orm import Order

LABEL = "订单"


def _check(order_fields: dict[str, Any], city_code: str) -> None:
    code = order_fields.get("occupation_code")
    if code is not None and not is_occupation(code):
        raise InvalidOccupation(f"职业分类代码 {code} 不在本服务的职业列表中", extra={"code": code})
    check_shape(
        kind=OrderKind(order_fields["kind"]),
        service_line=order_fields.get("service_line"),
        head_count=order_fields["head_count"],
        slots=order_fields["slots"],
        visibility=Visibility(order_fields["visibility"]),
        visible_cities=order_fields.get("visible_cities") or [],
        own_city=city_code,
    )


async def place_order(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    fields: dict[str, Any],
    idempotency: Idempotency | None,
) -> Created[Order]:
    """Place an order in a county this node governs, once per idempotency key."""
    county = fields["county_code"]
    city = access.county_city(county)
    access.ensure_node_owns(node_id, county)
    placer_kind, placed_by = access.placer_of(principal, county)
    if fields["kind"] == OrderKind.JOB:
        fields = {**fields, "slots": fields["head_count"]}
    _check(fields, city)

    async def work(uow: UnitOfWork) -> Order:
        now = utc_now()
        order = Order(
            id=uuid.uuid4().hex,
            owner_node=node_id,
            created_at=now,
            updated_at=now,
            placer_kind=placer_kind,
            placed_by=placed_by,
            city_code=city,
            status=OrderStatus.OPEN,
            awarded_count=0,
            accepted_count=0,
            terms_version=1,
            placements=None,
            contract_value_yuan=None,
            fulfilled_at=None,
            **fields,
        )
        await add(uow.session, order)
        record_order(uow, order, OrderPlaced)
        return order

    return await create_once(uow_factory, Order, idempotency=idempotency, work=work)


async def _own_order(uow: UnitOfWork, node_id: str, order_id: str, principal: Principal) -> Order:
    order = await load(uow.session, Order, order_id, LABEL)
    if order.owner_node != node_id:
        raise NotOwnerNode(
            f"订单 {order_id} 由节点 {order.owner_node} 管理，请到该节点办理",
            extra={"owner_node": order.owner_node},
        )
    access.ensure_may_manage(
        principal,
        placer_kind=order.placer_kind,
        placed_by=order.placed_by,
        county_code=order.county_code,
    )
    return order


async def edit_order(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    order_id: str,
    expected_version: Versions,
    changes: dict[str, Any],
) -> Order:
    """Change an open order; a change of terms voids the grabs made on the old terms."""
    async with uow_factory() as uow:
        order = await _own_order(uow, node_id, order_id, principal)
        check_version(order, expected_version)
        changed = changed_fields(order, changes)
        if not changed:
            return unchanged(uow, order)
        next_status(OrderStatus(order.status), OrderAction.EDIT, slots=0, awarded=0)
        if "county_code" in changed:
            access.ensure_node_owns(node_id, changed["county_code"])
            changed["city_code"] = access.county_city(changed["county_code"])
        merged = {c.key: getattr(order, c.key) for c in Order.__table__.columns} | changed
        if order.kind == OrderKind.JOB and "head_count" in changed:
            changed["slots"] = merged["slots"] = changed["head_count"]
        _check(merged, merged["city_code"])
        if changes_terms(changed):
            await _void_grabs(uow, order)
            order.terms_version += 1
        for name, value in changed.items():
            setattr(order, name, value)
        await flush_update(uow.session, order)
        record_order(uow, order)
        await uow.commit()
    return order


async def _void_grabs(uow: UnitOfWork, order: Order) -> None:
    """Void unconfirmed and standby grabs; confirmed awards lock the terms."""
    held = await repository.grabs_of(uow.session, order.id, [GrabStatus.CONFIRMED])
    if held or order.accepted_count:
        raise TermsLocked(
            "订单已有确认的中标机构或录用人才，不能修改条款", extra={"order_id": order.id}
        )
    now = utc_now()
    # Pending grabs are voided when their command is decided: they name the old terms_version.
    statuses = [GrabStatus.AWARDED, GrabStatus.REJECTED]
    for grab in await repository.grabs_of(uow.session, order.id, statuses):
        standby = grab.status == GrabStatus.REJECTED and grab.reason == Reason.NO_SLOT_LEFT
        if not (voided_by_edit(GrabStatus(grab.status)) or standby):
            continue
        if grab.status == GrabStatus.AWARDED:
            order.awarded_count -= 1
        grab.status, grab.reason, grab.decided_at = GrabStatus.VOIDED, Reason.TERMS_CHANGED, now
        grab.confirm_by = None
        record_decision(uow, grab)
    order.status = OrderStatus.OPEN


async def move_order(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    order_id: str,
    expected_version: Versions,
    action: OrderAction,
) -> Order:
    """Start service on an awarded order, or cancel one not yet fulfilled."""
    async with uow_factory() as uow:
        order = await _own_order(uow, node_id, order_id, principal)
        check_version(order, expected_version)
        order.status = next_status(
            OrderStatus(order.status), action, slots=order.slots, awarded=order.awarded_count
        )
        await flush_update(uow.session, order)
        record_order(uow, order)
        await uow.commit()
    return order


async def fulfil_order(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    order_id: str,
    expected_version: Versions,
    placements: int,
    contract_value_yuan: int | None,
) -> Order:
    """Close an order in service with its placements and (service orders) contract value."""
    async with uow_factory() as uow:
        order = await _own_order(uow, node_id, order_id, principal)
        check_version(order, expected_version)
        order.status = next_status(
            OrderStatus(order.status), OrderAction.FULFIL, slots=order.slots, awarded=0
        )
        order.placements = placements
        order.contract_value_yuan = contract_value_yuan
        order.fulfilled_at = utc_now()
        await flush_update(uow.session, order)
        record_order(uow, order, OrderFulfilled)
        await uow.commit()
    return order


async def expire_due_orders(uow_factory: UnitOfWorkFactory, *, node_id: str, today: date) -> int:
    """Expire this node's open orders past their deadline; how many."""
    async with uow_factory() as uow:
        due = await repository.own_orders_due(uow.session, node_id=node_id, today=today)
        for order in due:
            order.status = next_status(
                OrderStatus(order.status), OrderAction.EXPIRE, slots=order.slots, awarded=0
            )
            await flush_update(uow.session, order)
            record_order(uow, order)
        await uow.commit()
    return len(due)
