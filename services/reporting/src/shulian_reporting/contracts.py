"""Events reporting publishes: warnings raised and cleared, annual summaries' workflow steps,
shortage catalogues published.

Each event carries the whole record after the step (no personal data: summaries name cities,
never people). Warnings are keyed by warning id, summaries by summary id, so each record's
events keep their order.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shulian_common.catalogue import EventModel, event_type
from shulian_common.commands import CommandModel, DecisionModel

WARNINGS_TOPIC = "shulian.reporting.warnings.v1"
SUMMARIES_TOPIC = "shulian.reporting.summaries.v1"
SUMMARY_DECISIONS_TOPIC = "shulian.reporting.summary_decisions.v1"
_PREFIX = "cn.sichuan.shulian.reporting"
SUMMARY_DECISION_REQUESTED = f"{_PREFIX}.summary_decision.requested.v1"
SUMMARY_DECISION_DECIDED = f"{_PREFIX}.summary_decision.decided.v1"


class WarningSnapshot(EventModel):
    """A warning: its rule, scope, year, message and when it was raised (and cleared)."""

    id: str
    owner_node: str
    version: int
    rule_code: str
    scope_code: str
    year: int
    message: str
    raised_at: datetime
    cleared_at: datetime | None


@event_type(type=f"{_PREFIX}.warning.raised.v1", topic=WARNINGS_TOPIC)
class WarningRaised(WarningSnapshot):
    """预警已发出 (a warning's condition began to hold)."""


@event_type(type=f"{_PREFIX}.warning.cleared.v1", topic=WARNINGS_TOPIC)
class WarningCleared(WarningSnapshot):
    """预警已解除 (a warning's condition no longer holds)."""


class SummarySnapshot(EventModel):
    """A city's annual work summary after a workflow step, whole: other nodes keep it as a
    replica (``sections``, ``created_at`` and ``updated_at`` were added later, hence optional)."""

    id: str
    owner_node: str
    version: int
    city_code: str
    year: int
    status: str
    late: bool
    comment: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    sections: dict[str, str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@event_type(type=f"{_PREFIX}.summary.started.v1", topic=SUMMARIES_TOPIC)
class SummaryStarted(SummarySnapshot):
    """年度工作总结已开始填写 (a city started its summary's draft on its node; the narrative
    stays there until it is submitted, so ``sections`` is not sent)."""


@event_type(type=f"{_PREFIX}.summary.submitted.v1", topic=SUMMARIES_TOPIC)
class SummarySubmitted(SummarySnapshot):
    """年度工作总结已报送 (a city submitted its summary)."""


@event_type(type=f"{_PREFIX}.summary.approved.v1", topic=SUMMARIES_TOPIC)
class SummaryApproved(SummarySnapshot):
    """年度工作总结已通过 (the province approved a summary)."""


@event_type(type=f"{_PREFIX}.summary.returned.v1", topic=SUMMARIES_TOPIC)
class SummaryReturned(SummarySnapshot):
    """年度工作总结已退回 (the province returned a summary with comments)."""


@event_type(type=SUMMARY_DECISION_REQUESTED, topic=SUMMARY_DECISIONS_TOPIC)
class SummaryDecisionRequested(CommandModel):
    """审核年度工作总结申请 (the province asks the summary's owner node to approve or return it;
    ``target_id``: the summary)."""

    action: str = Field(description="approve | return")
    expected_version: int = Field(ge=1, description="the version the province decided on")
    comment: str | None = Field(default=None, max_length=2000)


@event_type(type=SUMMARY_DECISION_DECIDED, topic=SUMMARIES_TOPIC)
class SummaryDecisionDecided(DecisionModel):
    """审核年度工作总结申请已决定 (accepted: ``result`` has the summary's status and version, and
    the summary's own approved/returned event follows; rejected: ``reason`` says why)."""


CATALOGUES_TOPIC = "shulian.reporting.catalogues.v1"


class CatalogueEntry(EventModel):
    """One occupation of a published catalogue: its line of demand and supply, and its level."""

    rank: int
    industry: str | None
    occupation_code: str | None
    demand: int
    filled: int
    unmet: int
    talents: int
    shortage_ratio: float
    level: str
    level_name: str


@event_type(type=f"{_PREFIX}.catalogue.published.v1", topic=CATALOGUES_TOPIC)
class CataloguePublished(EventModel):
    """急需紧缺人才目录已发布 (the province published a year's shortage catalogue, an edition)."""

    id: str
    owner_node: str
    version: int
    year: int
    edition: int
    published_at: datetime
    entries: list[CatalogueEntry]
