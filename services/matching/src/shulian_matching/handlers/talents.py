"""Talents: their profile (personal data kept here, masked to others), applications, decisions."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from shulian_common.auth import Principal
from shulian_common.errors import NotFoundError, PreconditionRequiredError
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
from shulian_matching.contracts import ApplicationDecided, ApplicationSubmitted, TalentSaved
from shulian_matching.domain import access
from shulian_matching.domain.errors import (
    DuplicateApplication,
    InvalidOccupation,
    NotOwnerNode,
    OrderNotGrabbable,
    ProfileMissing,
)
from shulian_matching.domain.orders import (
    OrderAction,
    OrderKind,
    OrderStatus,
    Visibility,
    next_status,
    visible_to,
)
from shulian_matching.domain.talents import ApplicationStatus, decide_application, is_occupation
from shulian_matching.handlers.common import record_order
from shulian_matching.orm import Application, Order, Talent


def _record_talent(uow: UnitOfWork, talent: Talent) -> None:
    uow.record(TalentSaved.model_validate(talent, from_attributes=True), key=talent.id)


def _record_application(
    uow: UnitOfWork, app: Application, event: type[ApplicationSubmitted] | type[ApplicationDecided]
) -> None:
    uow.record(event.model_validate(app, from_attributes=True), key=app.order_id, subject=app.id)


async def save_profile(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    fields: dict[str, Any],
    expected_version: Versions | str,
) -> tuple[Talent, bool]:
    """Create the talent's profile, or change it (with If-Match); ``True`` when created."""
    account = access.ensure_talent(principal)
    code = fields.get("occupation_code")
    if code is not None and not is_occupation(code):
        raise InvalidOccupation(f"职业分类代码 {code} 不在本服务的职业列表中", extra={"code": code})
    access.county_city(fields["county_code"])
    access.ensure_node_owns(node_id, fields["county_code"])
    async with uow_factory() as uow:
        talent = await repository.talent_by_account(uow.session, account)
        if talent is None:
            now = utc_now()
            talent = Talent(
                id=uuid.uuid4().hex,
                owner_node=node_id,
                account=account,
                created_at=now,
                updated_at=now,
                **fields,
            )
            await add(uow.session, talent)
            created = True
        else:
            if expected_version == "missing":
                raise PreconditionRequiredError("修改档案须带 If-Match 请求头")
            check_version(talent, expected_version)  # type: ignore[arg-type]
            changed = changed_fields(talent, fields)
            if not changed:
                return unchanged(uow, talent), False
            for name, value in changed.items():
                setattr(talent, name, value)
            await flush_update(uow.session, talent)
            created = False
        _record_talent(uow, talent)
        await uow.commit()
    return talent, created


async def my_profile(uow_factory: UnitOfWorkFactory, *, principal: Principal) -> Talent:
    """The calling talent's profile."""
    account = access.ensure_talent(principal)
    async with uow_factory() as uow:
        talent = await repository.talent_by_account(uow.session, account)
        if talent is None:
            raise ProfileMissing("请先建立人才档案")
        uow.session.expunge(talent)
    return talent


async def apply(
    uow_factory: UnitOfWorkFactory, *, node_id: str, principal: Principal, order_id: str
) -> Application:
    """The calling talent applies to an open job order of this node visible to its city."""
    account = access.ensure_talent(principal)
    try:
        async with uow_factory() as uow:
            talent = await repository.talent_by_account(uow.session, account)
            if talent is None:
                raise ProfileMissing("请先建立人才档案")
            order = await load(uow.session, Order, order_id, "订单")
            _check_applicable(order, node_id, talent)
            if await repository.application_of(uow.session, order.id, talent.id):
                raise DuplicateApplication("已报名该订单")
            now = utc_now()
            application = Application(
                id=uuid.uuid4().hex,
                owner_node=node_id,
                order_id=order.id,
                talent_id=talent.id,
                status=ApplicationStatus.APPLIED,
                created_at=now,
                updated_at=now,
            )
            await add(uow.session, application)
            _record_application(uow, application, ApplicationSubmitted)
            await uow.commit()
    except IntegrityError:
        raise DuplicateApplication("已报名该订单") from None
    return application


def _check_applicable(order: Order, node_id: str, talent: Talent) -> None:
    if order.kind != OrderKind.JOB:
        raise OrderNotGrabbable("服务订单由机构抢单，人才不能报名")
    if order.owner_node != node_id:
        raise NotOwnerNode(
            f"请到订单所属节点 {order.owner_node} 报名", extra={"owner_node": order.owner_node}
        )
    next_status(OrderStatus(order.status), OrderAction.EDIT, slots=0, awarded=0)  # open only
    visible = visible_to(
        visibility=Visibility(order.visibility),
        order_city=order.city_code,
        visible_cities=order.visible_cities,
        city=access.county_city(talent.county_code),
    )
    if not visible:
        raise OrderNotGrabbable("订单不向人才所在城市开放")


async def answer_application(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    order_id: str,
    application_id: str,
    accept: bool,
) -> Application:
    """The placer accepts or declines; accepting fills a slot of the head count."""
    async with uow_factory() as uow:
        order = await load(uow.session, Order, order_id, "订单")
        if order.owner_node != node_id:
            raise NotOwnerNode(f"订单由节点 {order.owner_node} 管理")
        access.ensure_may_manage(
            principal,
            placer_kind=order.placer_kind,
            placed_by=order.placed_by,
            county_code=order.county_code,
        )
        application = await load(uow.session, Application, application_id, "报名")
        if application.order_id != order.id:
            raise NotFoundError(f"报名 {application_id} 不属于此订单")
        status = decide_application(
            ApplicationStatus(application.status),
            accept=accept,
            accepted=order.accepted_count,
            head_count=order.head_count,
        )
        if status is ApplicationStatus.ACCEPTED:
            order.status = next_status(
                OrderStatus(order.status),
                OrderAction.AWARD_SLOT,
                slots=order.slots,
                awarded=order.accepted_count,
            )
            order.accepted_count += 1
            order.awarded_count = order.accepted_count
            await flush_update(uow.session, order)
            record_order(uow, order)
        application.status = status
        await flush_update(uow.session, application)
        _record_application(uow, application, ApplicationDecided)
        await uow.commit()
    return application
