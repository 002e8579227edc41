"""The annual work summary (年度工作总结): due from each city by 12-20, reviewed by the province.

A state machine as a pure function: ``next_status(status, action)`` or ``IllegalSummaryStep``.
Overdue is not a status but a fact at a date: not submitted (or returned and not resubmitted)
after the deadline. A late submission is accepted and marked late.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from shulian_common.errors.base import ConflictError

DEADLINE_MONTH_DAY = (12, 20)
SECTIONS: tuple[str, ...] = ("工作开展情况", "主要成效", "存在的问题", "下一步工作打算")


class SummaryStatus(StrEnum):
    """Where a summary stands."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        """The Chinese status."""
        return {"draft": "草稿", "submitted": "已报送", "approved": "已通过", "returned": "已退回"}[
            self.value
        ]


class SummaryAction(StrEnum):
    """What a city or the province does to a summary."""

    EDIT = "edit"  # the city
    SUBMIT = "submit"  # the city
    APPROVE = "approve"  # the province
    RETURN = "return"  # the province, with a comment


TRANSITIONS: dict[tuple[SummaryStatus, SummaryAction], SummaryStatus] = {
    (SummaryStatus.DRAFT, SummaryAction.EDIT): SummaryStatus.DRAFT,
    (SummaryStatus.RETURNED, SummaryAction.EDIT): SummaryStatus.RETURNED,
    (SummaryStatus.DRAFT, SummaryAction.SUBMIT): SummaryStatus.SUBMITTED,
    (SummaryStatus.RETURNED, SummaryAction.SUBMIT): SummaryStatus.SUBMITTED,
    (SummaryStatus.SUBMITTED, SummaryAction.APPROVE): SummaryStatus.APPROVED,
    (SummaryStatus.SUBMITTED, SummaryAction.RETURN): SummaryStatus.RETURNED,
}


class IllegalSummaryStep(ConflictError):
    """The action is not allowed from the summary's status."""

    code = "illegal_summary_step"
    title = "年度工作总结当前状态不允许此操作"


class NotOwnerNode(ConflictError):
    """The summary is a replica of another node's: only its owner node writes it."""

    code = "not_owner_node"
    title = "该年度工作总结由其所属节点管理"


def next_status(status: SummaryStatus, action: SummaryAction) -> SummaryStatus:
    """The status after ``action``; ``IllegalSummaryStep`` (409) when it is not allowed."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        raise IllegalSummaryStep(f"年度工作总结状态为“{status.label}”，不能执行 {action.value}")
    return after


def deadline(year: int) -> date:
    """The day a city's summary of ``year`` is due (12-20 of that year)."""
    return date(year, *DEADLINE_MONTH_DAY)


def is_overdue(status: SummaryStatus | None, *, year: int, today: date) -> bool:
    """Whether a summary (``None``: not started) is overdue at ``today``."""
    waiting = status in (None, SummaryStatus.DRAFT, SummaryStatus.RETURNED)
    return waiting and today > deadline(year)
