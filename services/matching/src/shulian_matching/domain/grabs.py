"""Grabs (企业抢单): who may grab an order, and the owner node's decision on each grab.

The owner node decides every grab of its orders in log order (the grab travels keyed by the
order id, so all grabs of one order reach the owner in one sequence, whichever node they came
from). Deciding is a pure function of the order, the supplier as the replica knows it, and what
the owner already decided; the handler applies it in a transaction guarded by the order's version,
so two decisions can never both take the last slot.

An award must be confirmed by the supplier within a window; an unconfirmed award is released and
the slot goes to the next standby grab (one refused only for want of a slot), in log order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shulian_matching.domain.orders import OrderKind, OrderStatus, Visibility, visible_to


class GrabStatus(StrEnum):
    """Where a grab stands."""

    PENDING = "pending"  # sent, the owner has not decided yet
    AWARDED = "awarded"  # won a slot; the supplier must confirm in time
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    VOIDED = "voided"  # the order's terms changed before the grab was decided or confirmed
    RELEASED = "released"  # awarded, not confirmed in time: the slot went on


class Reason(StrEnum):
    """Why a grab was not awarded (stable codes; ``REASON_TEXT`` says it in Chinese)."""

    ORDER_UNKNOWN = "order_unknown"
    WRONG_KIND = "wrong_order_kind"
    ORDER_NOT_OPEN = "order_not_open"
    TERMS_CHANGED = "terms_changed"
    SUPPLIER_UNKNOWN = "supplier_unknown"
    NOT_LISTED = "supplier_not_listed"
    SERVICE_LINE = "service_line_not_served"
    INDUSTRY = "industry_not_served"
    NOT_VISIBLE = "outside_visibility"
    CAP_REACHED = "award_cap_reached"
    ALREADY_GRABBED = "already_grabbed"
    NO_SLOT_LEFT = "no_slot_left"
    CONFIRM_LATE = "confirmation_late"


REASON_TEXT = {
    Reason.ORDER_UNKNOWN: "订单不存在",
    Reason.WRONG_KIND: "岗位订单由人才接单，机构不能抢单",
    Reason.ORDER_NOT_OPEN: "订单已不在抢单状态",
    Reason.TERMS_CHANGED: "订单条款已修改，原抢单作废",
    Reason.SUPPLIER_UNKNOWN: "未找到该机构",
    Reason.NOT_LISTED: "机构未入重点供应商名录库",
    Reason.SERVICE_LINE: "机构不提供订单所需的服务业态",
    Reason.INDUSTRY: "机构不服务订单所属产业",
    Reason.NOT_VISIBLE: "订单不向机构所在城市开放",
    Reason.CAP_REACHED: "机构在本节点同时中标的订单已达上限",
    Reason.ALREADY_GRABBED: "机构已抢过此订单",
    Reason.NO_SLOT_LEFT: "名额已满（列入候补，名额释放时按先后递补）",
    Reason.CONFIRM_LATE: "中标确认已超时，名额已释放",
}
LISTED = "listed"


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What a decision needs of an order."""

    kind: OrderKind
    status: OrderStatus
    city_code: str
    service_line: str | None
    industry: str | None
    visibility: Visibility
    visible_cities: tuple[str, ...]
    slots: int
    awarded: int
    terms_version: int


@dataclass(frozen=True, slots=True)
class SupplierFacts:
    """What a decision needs of a supplier (from the replica of the registry's stream)."""

    id: str
    city_code: str
    listing_status: str
    service_lines: frozenset[str]
    industries: frozenset[str]


@dataclass(frozen=True, slots=True)
class Decision:
    """The owner's decision on one grab."""

    status: GrabStatus
    reason: Reason | None = None

    @property
    def awarded(self) -> bool:
        """Whether the grab took a slot."""
        return self.status is GrabStatus.AWARDED


def ineligibility(order: OrderFacts, supplier: SupplierFacts | None) -> Reason | None:
    """Why the supplier may not grab the order at all (``None``: it may)."""
    if order.kind is not OrderKind.SERVICE:
        return Reason.WRONG_KIND
    if supplier is None:
        return Reason.SUPPLIER_UNKNOWN
    if supplier.listing_status != LISTED:
        return Reason.NOT_LISTED
    if order.service_line not in supplier.service_lines:
        return Reason.SERVICE_LINE
    if order.industry is not None and order.industry not in supplier.industries:
        return Reason.INDUSTRY
    visible = visible_to(
        visibility=order.visibility,
        order_city=order.city_code,
        visible_cities=order.visible_cities,
        city=supplier.city_code,
    )
    return None if visible else Reason.NOT_VISIBLE


def decide(
    order: OrderFacts | None,
    supplier: SupplierFacts | None,
    *,
    grab_terms_version: int,
    already_holds: bool,
    active_awards: int,
    award_cap: int,
) -> Decision:
    """Award the grab a slot, or reject it (or void it) with the first reason that applies."""
    if order is None:
        return Decision(GrabStatus.REJECTED, Reason.ORDER_UNKNOWN)
    if grab_terms_version != order.terms_version:
        return Decision(GrabStatus.VOIDED, Reason.TERMS_CHANGED)
    if order.status is not OrderStatus.OPEN and order.status is not OrderStatus.AWARDED:
        return Decision(GrabStatus.REJECTED, Reason.ORDER_NOT_OPEN)
    reason = ineligibility(order, supplier)
    if reason is None and already_holds:
        reason = Reason.ALREADY_GRABBED
    if reason is None and active_awards >= award_cap:
        reason = Reason.CAP_REACHED
    if reason is None and (order.status is not OrderStatus.OPEN or order.awarded >= order.slots):
        reason = Reason.NO_SLOT_LEFT
    if reason is not None:
        return Decision(GrabStatus.REJECTED, reason)
    return Decision(GrabStatus.AWARDED)


def confirm_by(decided_at: datetime, *, window_seconds: int) -> datetime:
    """The time by which an award must be confirmed."""
    return decided_at + timedelta(seconds=window_seconds)


def decide_confirmation(
    status: GrabStatus, *, deadline: datetime | None, now: datetime
) -> Decision:
    """A supplier's confirmation of its award: in time → confirmed; otherwise refused."""
    if status is GrabStatus.CONFIRMED:
        return Decision(GrabStatus.CONFIRMED)
    if status is GrabStatus.AWARDED and deadline is not None and now <= deadline:
        return Decision(GrabStatus.CONFIRMED)
    return Decision(status, Reason.CONFIRM_LATE)


def overdue(awards: Iterable[tuple[str, datetime | None]], *, now: datetime) -> list[str]:
    """The ids of awards whose confirmation deadline has passed."""
    return [grab_id for grab_id, deadline in awards if deadline is not None and deadline < now]


def voided_by_edit(status: GrabStatus) -> bool:
    """Whether an edit of the terms voids a grab in this status (undecided or unconfirmed)."""
    return status in (GrabStatus.PENDING, GrabStatus.AWARDED)
