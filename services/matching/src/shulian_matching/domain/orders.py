"""Orders (订单): their kinds, visibility, and the lifecycle as a pure state machine.

An order is a service order (for HR service firms, who grab it) or a job order (for talents, who
take it). Its lifecycle: open → awarded (when every slot is awarded) → in service → fulfilled;
an open order may expire at its deadline; an order not yet in service may be cancelled. Slots
are what firms win: a service order has ``slots`` of them, a job order one per head.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from shulian_matching.domain.errors import IllegalTransition, InvalidOrder


class OrderKind(StrEnum):
    """What the order asks for."""

    SERVICE = "service"  # an HR service, grabbed by firms (企业抢单)
    JOB = "job"  # jobs, taken by talents (人才接单)


class Visibility(StrEnum):
    """Who may see and grab an order: its own city, listed cities, or the whole province."""

    OWN_CITY = "own_city"
    LISTED_CITIES = "listed_cities"
    PROVINCE = "province"


class OrderStatus(StrEnum):
    """Where an order stands."""

    OPEN = "open"
    AWARDED = "awarded"
    IN_SERVICE = "in_service"
    FULFILLED = "fulfilled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class OrderAction(StrEnum):
    """What can happen to an order."""

    AWARD_SLOT = "award_slot"
    RELEASE_SLOT = "release_slot"
    EDIT = "edit"
    START_SERVICE = "start_service"
    FULFIL = "fulfil"
    EXPIRE = "expire"
    CANCEL = "cancel"


TERMINAL = frozenset({OrderStatus.FULFILLED, OrderStatus.EXPIRED, OrderStatus.CANCELLED})
S, A = OrderStatus, OrderAction
# Moves that do not depend on the slot count; the slot moves are in ``next_status``.
_MOVES: dict[tuple[OrderStatus, OrderAction], OrderStatus] = {
    (S.OPEN, A.EDIT): S.OPEN,
    (S.OPEN, A.EXPIRE): S.EXPIRED,
    (S.OPEN, A.CANCEL): S.CANCELLED,
    (S.AWARDED, A.START_SERVICE): S.IN_SERVICE,
    (S.AWARDED, A.CANCEL): S.CANCELLED,
    (S.IN_SERVICE, A.FULFIL): S.FULFILLED,
}
_LABELS = {
    S.OPEN: "开放抢单",
    S.AWARDED: "已中标",
    S.IN_SERVICE: "服务中",
    S.FULFILLED: "已完成",
    S.EXPIRED: "已过期",
    S.CANCELLED: "已取消",
}


def next_status(
    status: OrderStatus, action: OrderAction, *, slots: int, awarded: int
) -> OrderStatus:
    """The status after ``action``, given ``awarded`` of ``slots`` taken before it."""
    if action is A.AWARD_SLOT and status is S.OPEN and awarded < slots:
        return S.AWARDED if awarded + 1 == slots else S.OPEN
    if action is A.RELEASE_SLOT and status in (S.OPEN, S.AWARDED) and awarded > 0:
        return S.OPEN
    moved = _MOVES.get((status, action))
    if moved is None:
        raise IllegalTransition(
            f"订单状态为“{_LABELS[status]}”，不能执行 {action}",
            extra={"status": str(status), "action": str(action)},
        )
    return moved


# Changing any of these changes what a grab was for: pending grabs are voided (see grabs).
TERM_FIELDS = frozenset(
    {
        "service_line",
        "industry",
        "occupation_code",
        "skills",
        "head_count",
        "slots",
        "county_code",
        "budget_yuan",
        "monthly_pay_yuan",
        "deadline",
        "visibility",
        "visible_cities",
    }
)


def changes_terms(changes: Mapping[str, Any]) -> bool:
    """Whether an edit touches the terms grabs were made on (a title fix does not)."""
    return bool(TERM_FIELDS & changes.keys())


def check_shape(
    *,
    kind: OrderKind,
    service_line: str | None,
    head_count: int,
    slots: int,
    visibility: Visibility,
    visible_cities: Iterable[str],
    own_city: str,
) -> None:
    """Refuse an order whose fields do not fit its kind and visibility."""
    listed = list(visible_cities)
    problems = []
    if kind is OrderKind.SERVICE and not service_line:
        problems.append("服务订单须指明服务业态 service_line")
    if kind is OrderKind.JOB and service_line:
        problems.append("岗位订单不指定服务业态")
    if kind is OrderKind.JOB and slots != head_count:
        problems.append("岗位订单的名额等于招聘人数")
    if kind is OrderKind.SERVICE and slots > head_count:
        problems.append("中标机构数不能多于需求人数")
    if visibility is Visibility.LISTED_CITIES and not listed:
        problems.append("指定城市可见须列出城市")
    if visibility is not Visibility.LISTED_CITIES and listed:
        problems.append("只有指定城市可见的订单才列出城市")
    if visibility is Visibility.LISTED_CITIES and own_city not in listed:
        problems.append("可见城市须包含订单所在城市")
    if problems:
        raise InvalidOrder("；".join(problems), extra={"problems": problems})


def visible_to(
    *, visibility: Visibility, order_city: str, visible_cities: Iterable[str], city: str
) -> bool:
    """Whether suppliers (or talents) of ``city`` may see and take the order."""
    if visibility is Visibility.PROVINCE:
        return True
    if visibility is Visibility.OWN_CITY:
        return city == order_city
    return city in set(visible_cities)
