"""The annual work summary workflow: a city edits and submits, the province approves or returns.

Each step is one unit of work: the summary's new state and its event commit together.
"""

from __future__ import annotations

import uuid
from datetime import date

from shulian_common.errors import (
    NotFoundError,
    PreconditionRequiredError,
    ValidationFailedError,
)
from shulian_common.records import Versions, add, check_version, flush_update, utc_now
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import orm, repository
from shulian_reporting.contracts import SummaryApproved, SummaryReturned, SummarySubmitted
from shulian_reporting.domain.summaries import (
    SECTIONS,
    SummaryAction,
    SummaryStatus,
    deadline,
    next_status,
)
from shulian_reporting.handlers.projections import local_day

_EVENTS = {
    SummaryAction.SUBMIT: SummarySubmitted,
    SummaryAction.APPROVE: SummaryApproved,
    SummaryAction.RETURN: SummaryReturned,
}


def is_late(summary: orm.Summary) -> bool:
    """Whether the summary was submitted after its deadline."""
    submitted = summary.submitted_at
    return submitted is not None and local_day(submitted) > deadline(summary.year)


async def edit_summary(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    city_code: str,
    year: int,
    sections: dict[str, str],
    expected_version: Versions,
    version_given: bool,
) -> orm.Summary:
    """Write a city's narrative sections (the first edit starts the draft, no version needed;
    later ones need the version they are based on: 428 without it)."""
    async with uow_factory() as uow:
        summary = await repository.summary_for(uow.session, city_code, year)
        if summary is None:
            now = utc_now()
            summary = orm.Summary(
                id=uuid.uuid4().hex,
                owner_node=node_id,
                created_at=now,
                updated_at=now,
                city_code=city_code,
                year=year,
                status=SummaryStatus.DRAFT.value,
                sections={name: sections.get(name, "") for name in SECTIONS},
                comment=None,
            )
            await add(uow.session, summary)
            await uow.commit()
            return summary
        if not version_given:
            raise PreconditionRequiredError("修改年度工作总结须带 If-Match 请求头")
        check_version(summary, expected_version)
        summary.status = next_status(SummaryStatus(summary.status), SummaryAction.EDIT).value
        summary.sections = {name: sections.get(name, "") for name in SECTIONS}
        await flush_update(uow.session, summary)
        await uow.commit()
    return summary


async def step_summary(
    uow_factory: UnitOfWorkFactory,
    *,
    city_code: str,
    year: int,
    action: SummaryAction,
    expected_version: Versions,
    comment: str | None = None,
) -> orm.Summary:
    """Submit, approve or return a summary (``action``), from the version the caller read."""
    async with uow_factory() as uow:
        summary = await repository.summary_for(uow.session, city_code, year)
        if summary is None:
            raise NotFoundError(f"{city_code} 尚无 {year} 年度工作总结")
        check_version(summary, expected_version)
        summary.status = next_status(SummaryStatus(summary.status), action).value
        if action is SummaryAction.RETURN and not (comment or "").strip():
            raise ValidationFailedError("退回年度工作总结须填写意见", code="comment_required")
        now = utc_now()
        if action is SummaryAction.SUBMIT:
            summary.submitted_at = now
        else:
            summary.decided_at = now
            summary.comment = comment
        await flush_update(uow.session, summary)
        event = _EVENTS[action].model_validate(
            {
                "id": summary.id,
                "owner_node": summary.owner_node,
                "version": summary.version,
                "city_code": summary.city_code,
                "year": summary.year,
                "status": summary.status,
                "late": is_late(summary),
                "comment": summary.comment,
                "submitted_at": summary.submitted_at,
                "decided_at": summary.decided_at,
            }
        )
        uow.record(event, key=summary.id, subject=summary.id)
        await uow.commit()
    return summary


def summary_due(year: int) -> date:
    """The deadline of ``year`` 's summaries."""
    return deadline(year)
