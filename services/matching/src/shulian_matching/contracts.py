"""Events matching publishes: order snapshots, grab commands and decisions, talents' and
applications' changes — never a talent's personal data (name, phone, ID number).

Orders, grabs and decisions about one order are keyed by the order id, so a node sees them in
order. A grab command (``grab.requested``, ``confirmation.requested``: the kit's "request on
any node, the owner decides", ``shulian_common.commands``) comes from the node where the supplier
asked;
the decision (``grab.decided``) comes only from the order's owner node, and says so in
``owner_node``, which the consumer's trust check holds it to.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shulian_common.catalogue import EventModel, event_type
from shulian_common.commands import CommandModel, DecisionModel
from shulian_matching.domain.access import PlacerKind
from shulian_matching.domain.grabs import GrabStatus
from shulian_matching.domain.orders import OrderKind, OrderStatus, Visibility
from shulian_matching.domain.talents import ApplicationStatus

ORDERS_TOPIC = "shulian.matching.orders.v1"
GRABS_TOPIC = "shulian.matching.grabs.v1"
TALENTS_TOPIC = "shulian.matching.talents.v1"
APPLICATIONS_TOPIC = "shulian.matching.applications.v1"
_PREFIX = "cn.sichuan.shulian.matching"


class OrderSnapshot(EventModel):
    """An order's whole state."""

    id: str
    owner_node: str
    version: int
    created_at: datetime
    updated_at: datetime
    kind: OrderKind
    title: str
    placer_kind: PlacerKind
    placed_by: str = Field(description="enterprise id, or the placing operator's division")
    county_code: str
    city_code: str
    service_line: str | None
    industry: str | None
    occupation_code: str | None
    skills: list[str]
    head_count: int
    slots: int
    budget_yuan: int | None
    monthly_pay_yuan: int | None
    deadline: date
    visibility: Visibility
    visible_cities: list[str]
    status: OrderStatus
    awarded_count: int
    accepted_count: int
    terms_version: int
    placements: int | None
    contract_value_yuan: int | None = Field(
        description="recorded when a service order is fulfilled"
    )
    fulfilled_at: datetime | None


@event_type(type=f"{_PREFIX}.order.placed.v1", topic=ORDERS_TOPIC)
class OrderPlaced(OrderSnapshot):
    """订单已发布 (an order was placed)."""


@event_type(type=f"{_PREFIX}.order.updated.v1", topic=ORDERS_TOPIC)
class OrderUpdated(OrderSnapshot):
    """订单已变更 (an order changed: edit, award, release, start, expiry, cancellation)."""


@event_type(type=f"{_PREFIX}.order.fulfilled.v1", topic=ORDERS_TOPIC)
class OrderFulfilled(OrderSnapshot):
    """订单已完成 (fulfilled with placements; a service order carries its contract value)."""


@event_type(type=f"{_PREFIX}.grab.requested.v1", topic=GRABS_TOPIC)
class GrabRequested(CommandModel):
    """抢单请求 (a supplier grabbed an order; the order's owner node decides).

    ``request_id`` is the grab's id, ``target_id`` the order's.
    """

    supplier_id: str
    terms_version: int = Field(description="the order's terms the supplier grabbed on")
    requested_at: datetime


@event_type(type=f"{_PREFIX}.confirmation.requested.v1", topic=GRABS_TOPIC)
class ConfirmationRequested(CommandModel):
    """中标确认请求 (an awarded supplier confirmed; the owner node accepts it if still in time).

    ``target_id`` is the order's id; ``grab_id`` the award being confirmed.
    """

    grab_id: str
    supplier_id: str


@event_type(type=f"{_PREFIX}.grab.decided.v1", topic=GRABS_TOPIC)
class GrabDecided(DecisionModel):
    """抢单结果 (the owner node awarded, confirmed, rejected, voided or released a grab).

    The first decision on a grab answers its request (``outcome`` accepted when awarded); later
    ones (confirmed, released, voided by an edit, a standby grab awarded) carry the grab's new
    ``status`` and answer the grab's request id again, or the confirmation's.
    """

    grab_id: str = ""
    owner_node: str | None = Field(
        default=None, description="the order's owner, the only node that decides"
    )
    supplier_id: str = ""
    status: GrabStatus | None = None
    terms_version: int = Field(default=0, description="the order's terms the grab was made on")
    requested_at: datetime | None = None
    seq: int = Field(default=0, description="the decision's place in the owner's log of the order")
    decided_at: datetime | None = None
    confirm_by: datetime | None = None


@event_type(type=f"{_PREFIX}.talent.saved.v1", topic=TALENTS_TOPIC)
class TalentSaved(EventModel):
    """人才档案已保存 (a talent's profile, without personal data)."""

    id: str
    owner_node: str
    version: int
    updated_at: datetime
    occupation_code: str | None
    skills: list[str]
    county_code: str


@event_type(type=f"{_PREFIX}.application.requested.v1", topic=APPLICATIONS_TOPIC)
class ApplicationRequested(CommandModel):
    """跨节点报名请求 (a talent applied to another node's job order; that node receives it).

    ``request_id`` is the application's id, ``target_id`` the order's. The talent is named only by
    a pseudonymous reference, with the facts the placer and ranking need: no name, phone or ID
    number leaves the talent's node.
    """

    talent_ref: str = Field(description="pseudonymous reference of the talent (opaque id)")
    occupation_code: str | None
    skills: list[str]
    county_code: str


@event_type(type=f"{_PREFIX}.application.received.v1", topic=APPLICATIONS_TOPIC)
class ApplicationReceived(DecisionModel):
    """跨节点报名受理结果 (the order's owner node received or refused a talent's application).

    Received (``accepted``): the placer now answers it, and its ``application.decided`` follows.
    """

    status: ApplicationStatus | None = Field(
        default=None, description="the application's status on the owner node"
    )


class ApplicationSnapshot(EventModel):
    """An application's state: the talent by opaque id only."""

    id: str
    owner_node: str
    version: int
    updated_at: datetime
    order_id: str
    talent_id: str
    status: ApplicationStatus
    terms_version: int = Field(
        description="the order's terms the application was made on: once declined, the talent "
        "may apply again only on later terms"
    )


@event_type(type=f"{_PREFIX}.application.submitted.v1", topic=APPLICATIONS_TOPIC)
class ApplicationSubmitted(ApplicationSnapshot):
    """人才已报名 (a talent applied to a job order)."""


@event_type(type=f"{_PREFIX}.application.decided.v1", topic=APPLICATIONS_TOPIC)
class ApplicationDecided(ApplicationSnapshot):
    """报名已处理 (the placer accepted or declined)."""
