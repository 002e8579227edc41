"""The key-directory listing workflow as a state machine."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from shulian_registry.domain.errors import IllegalTransition, ListingScopeMismatch, ReasonRequired


class ListingStatus(StrEnum):
    """Where a supplier stands in the key directory (重点人力资源服务供应商名录库)."""

    NOT_APPLIED = "not_applied"
    APPLIED = "applied"
    UNDER_REVIEW = "under_review"
    LISTED = "listed"
    SUSPENDED = "suspended"
    DELISTED = "delisted"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        """Chinese name of the status."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    ListingStatus.NOT_APPLIED: "未申请",
    ListingStatus.APPLIED: "已申请",
    ListingStatus.UNDER_REVIEW: "审核中",
    ListingStatus.LISTED: "已入库",
    ListingStatus.SUSPENDED: "暂停",
    ListingStatus.DELISTED: "已出库",
    ListingStatus.REJECTED: "未通过",
}


class ListingAction(StrEnum):
    """A step of the listing workflow: ``apply`` by the supplier or an operator, others decided."""

    APPLY = "apply"
    REVIEW = "review"
    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    DELIST = "delist"


DECISIONS = frozenset(ListingAction) - {ListingAction.APPLY}
_NEEDS_REASON = frozenset({ListingAction.REJECT, ListingAction.SUSPEND, ListingAction.DELIST})

# (from statuses, to status) per action; anything else is an illegal transition. A rejected or
# delisted supplier may apply again: the history keeps every earlier step.
_TRANSITIONS: dict[ListingAction, tuple[frozenset[ListingStatus], ListingStatus]] = {
    ListingAction.APPLY: (
        frozenset({ListingStatus.NOT_APPLIED, ListingStatus.REJECTED, ListingStatus.DELISTED}),
        ListingStatus.APPLIED,
    ),
    ListingAction.REVIEW: (frozenset({ListingStatus.APPLIED}), ListingStatus.UNDER_REVIEW),
    ListingAction.APPROVE: (frozenset({ListingStatus.UNDER_REVIEW}), ListingStatus.LISTED),
    ListingAction.REJECT: (
        frozenset({ListingStatus.APPLIED, ListingStatus.UNDER_REVIEW}),
        ListingStatus.REJECTED,
    ),
    ListingAction.SUSPEND: (frozenset({ListingStatus.LISTED}), ListingStatus.SUSPENDED),
    ListingAction.REINSTATE: (frozenset({ListingStatus.SUSPENDED}), ListingStatus.LISTED),
    ListingAction.DELIST: (
        frozenset({ListingStatus.LISTED, ListingStatus.SUSPENDED}),
        ListingStatus.DELISTED,
    ),
}


def next_status(current: ListingStatus, action: ListingAction, reason: str | None) -> ListingStatus:
    """The status ``action`` leads to from ``current``; refuses illegal steps, missing reasons."""
    sources, target = _TRANSITIONS[action]
    if current not in sources:
        raise IllegalTransition(
            f"当前状态为「{current.label}」，不能执行 {action}",
            extra={"listing_status": current, "action": action},
        )
    if action in _NEEDS_REASON and not (reason and reason.strip()):
        raise ReasonRequired(f"{action} 须填写理由")
    return target


def check_listing_scope(
    *,
    industries: Iterable[str],
    fields: Iterable[str],
    supplier_industries: Iterable[str],
    supplier_lines: Iterable[str],
) -> None:
    """An application names industries and fields (service lines) the supplier itself declares."""
    extra_industries = sorted(set(industries) - set(supplier_industries))
    extra_fields = sorted(set(fields) - set(supplier_lines))
    if extra_industries or extra_fields:
        raise ListingScopeMismatch(
            "申请的行业或领域不在机构登记的业务范围内",
            extra={"industries": extra_industries, "fields": extra_fields},
        )
