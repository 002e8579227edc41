"""Talents: their profile (personal data kept here, masked to others), applications, decisions."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from shulian_common.auth import Principal
from shulian_common.commands import (
    Outcome,
    Request,
    apply_decision,
    decision_for,
    new_request_id,
    send_command,
)
from shulian_common.envelope import CloudEvent
from shulian_common.errors import NotFoundError, PreconditionRequiredError
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
from shulian_matching.contracts import (
    ApplicationDecided,
    ApplicationReceived,
    ApplicationRequested,
    ApplicationSubmitted,
    TalentSaved,
)
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
from shulian_matching.domain.talents import (
    ApplicationStatus,
    check_may_apply,
    decide_application,
    is_occupation,
)
from shulian_matching.handlers.common import record_order
from shulian_matching.orm import Application, Order, Talent

if TYPE_CHECKING:  # the reader models are declared with the subscriptions, which import this
    from shulian_matching.consumers import (
        ApplicationAnswerReader,
        ApplicationReceivedReader,
        ApplicationRequestReader,
    )

APPLICATION = "application"  # kind of the kit's request rows


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
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    principal: Principal,
    order_id: str,
    idempotency: Idempotency | None = None,
) -> Application | Created[Request]:
    """The calling talent applies to an open job order visible to its city.

    An order of this node: the application is written here (and returned). Another node's order
    (a province-visible replica): the talent's copy is written here, ``pending``, and an
    ``application.requested`` command goes to the owner node, which receives it (or refuses it)
    and whose placer answers it; the kit's request is returned. Only a pseudonymous reference and
    the occupation, skills and county travel: the personal data stays here.
    """
    account = access.ensure_talent(principal)
    async with uow_factory() as uow:
        owner_node = (await load(uow.session, Order, order_id, "订单")).owner_node
    if owner_node != node_id:
        return await _send_application(
            uow_factory,
            node_id=node_id,
            account=account,
            order_id=order_id,
            idempotency=idempotency,
        )
    try:
        async with uow_factory() as uow:
            talent = await _applying_talent(uow, account)
            order = await load(uow.session, Order, order_id, "订单")
            await _check_new(uow, order, talent_ref=talent.id, county=talent.county_code)
            application = _application_row(
                uuid.uuid4().hex,
                order,
                talent_ref=talent.id,
                talent_node=node_id,
                facts=_facts(talent),
                status=ApplicationStatus.APPLIED,
            )
            await add(uow.session, application)
            _record_application(uow, application, ApplicationSubmitted)
            await uow.commit()
    except IntegrityError:
        raise DuplicateApplication("已报名该订单") from None
    return application


async def _applying_talent(uow: UnitOfWork, account: str) -> Talent:
    talent = await repository.talent_by_account(uow.session, account)
    if talent is None:
        raise ProfileMissing("请先建立人才档案")
    return talent


def _facts(talent: Talent) -> dict[str, Any]:
    """What an application carries of the talent: never the personal data."""
    return {
        "occupation_code": talent.occupation_code,
        "skills": list(talent.skills),
        "county_code": talent.county_code,
    }


def _application_row(
    application_id: str,
    order: Order,
    *,
    talent_ref: str,
    talent_node: str,
    facts: dict[str, Any],
    status: ApplicationStatus,
) -> Application:
    now = utc_now()
    return Application(
        id=application_id,
        owner_node=order.owner_node,
        order_id=order.id,
        talent_id=talent_ref,
        talent_node=talent_node,
        status=status,
        reason=None,
        terms_version=order.terms_version,
        created_at=now,
        updated_at=now,
        **facts,
    )


async def _send_application(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    account: str,
    order_id: str,
    idempotency: Idempotency | None,
) -> Created[Request]:
    async def work(uow: UnitOfWork) -> Request:
        talent = await _applying_talent(uow, account)
        order = await load(uow.session, Order, order_id, "订单")
        # What this node can check on its replica; the owner checks again when it receives it.
        await _check_new(uow, order, talent_ref=talent.id, county=talent.county_code)
        facts = _facts(talent)
        command = ApplicationRequested(
            request_id=new_request_id(),
            requester_node=node_id,
            target_id=order.id,
            target_owner_node=order.owner_node,
            talent_ref=talent.id,
            **facts,
        )
        copy = _application_row(
            command.request_id,
            order,
            talent_ref=talent.id,
            talent_node=node_id,
            facts=facts,
            status=ApplicationStatus.PENDING,
        )
        await add(uow.session, copy)
        return await send_command(uow, command, kind=APPLICATION, requester_sub=account)

    try:
        return await create_once(uow_factory, Request, idempotency=idempotency, work=work)
    except IntegrityError:
        raise DuplicateApplication("已报名该订单") from None


async def _check_new(uow: UnitOfWork, order: Order, *, talent_ref: str, county: str) -> None:
    """Refuse an application the order is not open to, the talent's second standing one, or one
    the placer already declined on the order's current terms (``domain.talents``)."""
    check_open_to(order, city=access.county_city(county))
    earlier = await repository.applications_by(uow.session, order.id, talent_ref)
    check_may_apply(
        ((ApplicationStatus(a.status), a.terms_version) for a in earlier),
        terms_version=order.terms_version,
    )


def check_open_to(order: Order, *, city: str) -> None:
    """Refuse an application to anything but an open job order visible to ``city``."""
    if order.kind != OrderKind.JOB:
        raise OrderNotGrabbable("服务订单由机构抢单，人才不能报名")
    next_status(OrderStatus(order.status), OrderAction.EDIT, slots=0, awarded=0)  # open only
    visible = visible_to(
        visibility=Visibility(order.visibility),
        order_city=order.city_code,
        visible_cities=order.visible_cities,
        city=city,
    )
    if not visible:
        raise OrderNotGrabbable("订单不向人才所在城市开放")


# --- on the order's owner node: receiving another node's talent's application ------------------


async def receive_application(
    uow: UnitOfWork, command: ApplicationRequestReader, order: Order
) -> ApplicationReceived:
    """The owner's decision on ``application.requested``: receive it for the placer, or refuse it
    (not a job order, not open, not visible to the talent's city, a second application)."""
    await _check_new(uow, order, talent_ref=command.talent_ref, county=command.county_code)
    application = _application_row(
        command.request_id,
        order,
        talent_ref=command.talent_ref,
        talent_node=command.requester_node,
        facts={
            "occupation_code": command.occupation_code,
            "skills": list(command.skills),
            "county_code": command.county_code,
        },
        status=ApplicationStatus.APPLIED,
    )
    await add(uow.session, application)
    _record_application(uow, application, ApplicationSubmitted)
    return decision_for(
        ApplicationReceived, command, Outcome.ACCEPTED, status=ApplicationStatus.APPLIED
    )


# --- on the talent's node: following the owner's word ---------------------------------------


def follow_receipt(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, ApplicationReceivedReader], Awaitable[None]]:
    """The talent's node follows the owner's receipt of an application it sent: the kit's request
    is settled, and the talent's copy says ``applied``, or ``rejected`` with the reason."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: ApplicationReceivedReader) -> None:
        if data.requester_node != node_id:
            return
        if not await apply_decision(uow.session, event, data):
            return  # not ours, already settled, or not from the order's owner
        refused = data.outcome == Outcome.REJECTED
        status = ApplicationStatus.REJECTED if refused else ApplicationStatus.APPLIED
        await _follow(uow, event, data.request_id, status=status, reason=data.reason)

    return handle


def follow_answer(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, ApplicationAnswerReader], Awaitable[None]]:
    """The talent's node follows the placer's answer (``application.decided``) to an application
    it sent to another node's order."""

    async def handle(uow: UnitOfWork, event: CloudEvent, data: ApplicationAnswerReader) -> None:
        if event.node == node_id:
            return  # our own order's application: the row is the answer
        await _follow(
            uow,
            event,
            data.id,
            status=ApplicationStatus(data.status),
            reason=None,
            terms_version=data.terms_version,
        )

    return handle


async def _follow(
    uow: UnitOfWork,
    event: CloudEvent,
    application_id: str,
    *,
    status: ApplicationStatus,
    reason: str | None,
    terms_version: int | None = None,
) -> None:
    """Bring the talent's copy to the owner's word; the owner's ``terms_version`` (the terms the
    placer saw, which this node's replica may not have had when the talent applied) replaces the
    copy's, so a declined talent is refused here at once until the terms change again."""
    copy = await uow.session.get(Application, application_id)
    if copy is None or copy.owner_node != event.node or copy.owner_node == copy.talent_node:
        return  # not sent from here, or a word from a node that does not own the order
    terms_version = copy.terms_version if terms_version is None else terms_version
    if (copy.status, copy.reason, copy.terms_version) == (status, reason, terms_version):
        return
    copy.status, copy.reason, copy.terms_version = status, reason, terms_version
    await flush_update(uow.session, copy)


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
