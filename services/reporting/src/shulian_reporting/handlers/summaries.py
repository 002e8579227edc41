"""The annual work summary workflow: a city edits and submits, the province approves or returns.

Each step is one unit of work: the summary's new state and its event commit together. The
events carry the whole summary, so every other node keeps a replica of it (``keep_summary``);
only the owner node writes a summary, a write to a replica is refused naming that node.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from shulian_common.commands import (
    DecisionModel,
    Outcome,
    Request,
    decision_for,
    new_request_id,
    send_command,
)
from shulian_common.envelope import CloudEvent
from shulian_common.errors import (
    ForbiddenError,
    NotFoundError,
    PreconditionRequiredError,
    ValidationFailedError,
)
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import Versions, add, check_version, flush_update, utc_now
from shulian_common.reference import PROVINCE_CODE
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_reporting import orm, repository
from shulian_reporting.contracts import (
    SummaryApproved,
    SummaryDecisionDecided,
    SummaryDecisionRequested,
    SummaryReturned,
    SummarySnapshot,
    SummaryStarted,
    SummarySubmitted,
)
from shulian_reporting.domain.summaries import (
    SECTIONS,
    NotOwnerNode,
    SummaryAction,
    SummaryStatus,
    deadline,
    next_status,
)
from shulian_reporting.handlers.projections import local_day

if TYPE_CHECKING:  # the reader model is declared with the subscriptions, which import this
    from shulian_reporting.consumers import SummaryDecisionReader, SummaryReader

logger = logging.getLogger(__name__)

_EVENTS = {
    SummaryAction.SUBMIT: SummarySubmitted,
    SummaryAction.APPROVE: SummaryApproved,
    SummaryAction.RETURN: SummaryReturned,
}


def ensure_owned(summary: orm.Summary, node_id: str) -> None:
    """Refuse a write to another node's summary (a replica here), naming its owner node."""
    if summary.owner_node != node_id:
        raise NotOwnerNode(
            f"{summary.city_code} {summary.year} 年度工作总结由节点 {summary.owner_node} 管理，"
            f"本节点 {node_id} 只读，请到该节点办理",
            extra={"owner_node": summary.owner_node, "node_id": node_id},
        )


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
            # Every node learns at once which node holds this city's summary, and refuses to
            # start a second one; the narrative travels only with the submission.
            _record(uow, SummaryStarted, summary, sections=False)
            await uow.commit()
            return summary
        ensure_owned(summary, node_id)
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
    node_id: str,
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
        ensure_owned(summary, node_id)
        check_version(summary, expected_version)
        await _apply_step(uow, summary, action, comment)
        await uow.commit()
    return summary


async def _apply_step(
    uow: UnitOfWork, summary: orm.Summary, action: SummaryAction, comment: str | None
) -> None:
    """Take ``action`` on ``summary`` (this node's) and record its event; refusals raise before
    anything is recorded."""
    after = next_status(SummaryStatus(summary.status), action)
    if action is SummaryAction.RETURN and not (comment or "").strip():
        raise ValidationFailedError("退回年度工作总结须填写意见", code="comment_required")
    summary.status = after.value
    now = utc_now()
    if action is SummaryAction.SUBMIT:
        summary.submitted_at = now
    else:
        summary.decided_at = now
        summary.comment = comment
    await flush_update(uow.session, summary)
    _record(uow, _EVENTS[action], summary, sections=True)


def _record(
    uow: UnitOfWork, event_type: type[SummarySnapshot], summary: orm.Summary, *, sections: bool
) -> None:
    """Record ``summary``'s snapshot as ``event_type``, with its narrative or without."""
    event = event_type.model_validate(
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
            "sections": summary.sections if sections else None,
            "created_at": summary.created_at,
            "updated_at": summary.updated_at,
        }
    )
    uow.record(event, key=summary.id, subject=summary.id)


REQUEST_KIND = "summary_decision"  # the kind of this service's rows in the kit's ``requests``
_DECISIONS = {"approve": SummaryAction.APPROVE, "return": SummaryAction.RETURN}


async def request_decision(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    summary: orm.Summary,
    action: SummaryAction,
    expected_version: int,
    comment: str | None,
    requester_sub: str,
    idempotency: Idempotency | None,
) -> Created[Request]:
    """Ask the owner node of ``summary`` (a replica here) to approve or return it, once per
    idempotency key: the owner decides, in log order, from the version the province read."""

    async def work(uow: UnitOfWork) -> Request:
        command = SummaryDecisionRequested(
            request_id=new_request_id(),
            requester_node=node_id,
            target_id=summary.id,
            target_owner_node=summary.owner_node,
            action=action.value,
            expected_version=expected_version,
            comment=comment,
        )
        return await send_command(uow, command, kind=REQUEST_KIND, requester_sub=requester_sub)

    return await create_once(uow_factory, Request, idempotency=idempotency, work=work)


async def load_summary(uow: UnitOfWork, summary_id: str) -> orm.Summary | None:
    """The summary a decision request is about (the kit rejects one this node does not own)."""
    return await uow.session.get(orm.Summary, summary_id)


async def decide_request(
    uow: UnitOfWork, command: SummaryDecisionReader, summary: orm.Summary
) -> DecisionModel:
    """The owner's decision on the province's approval or return: only the province decides, on
    a summary still submitted and at the version it read; refusals become rejections."""
    if command.requester_node != PROVINCE_CODE:
        raise ForbiddenError("年度工作总结由省级审核", code="not_province")
    action = _DECISIONS.get(command.action)
    if action is None:
        raise ValidationFailedError(f"未知的审核操作：{command.action}", code="unknown_action")
    check_version(summary, frozenset({command.expected_version}))
    await _apply_step(uow, summary, action, command.comment)
    return decision_for(
        SummaryDecisionDecided,
        command,
        Outcome.ACCEPTED,
        result={"status": summary.status, "version": summary.version},
    )


def summary_due(year: int) -> date:
    """The deadline of ``year`` 's summaries."""
    return deadline(year)


def keep_summary(
    node_id: str,
) -> Callable[[UnitOfWork, CloudEvent, SummaryReader], Awaitable[None]]:
    """The handler of other nodes' summary snapshots on ``node_id``: keep each as a replica.

    Only a newer version replaces the replica (redeliveries and replays change nothing). A
    snapshot of a (city, year) this node already holds under another id (two nodes each started
    one before either saw the other's) is not applied: the held one stays, and it is logged.
    """

    async def handle(uow: UnitOfWork, event: CloudEvent, data: SummaryReader) -> None:
        if event.node == node_id:  # our own summaries are the originals
            return
        held = await repository.summary_for(uow.session, data.city_code, data.year)
        if held is not None and held.id != data.id:
            logger.warning(
                "summary %s of %s %s from node %s not kept: %s (node %s) holds that city and year",
                data.id, data.city_code, data.year, data.owner_node, held.id, held.owner_node,
            )  # fmt: skip
            return
        at = event.time
        values: dict[str, Any] = {
            "id": data.id,
            "owner_node": data.owner_node,
            "version": data.version,
            "created_at": data.created_at or at,
            "updated_at": data.updated_at or at,
            "city_code": data.city_code,
            "year": data.year,
            "status": data.status,
            "comment": data.comment,
            "submitted_at": data.submitted_at,
            "decided_at": data.decided_at,
        }
        # A snapshot without its narrative (a draft's start, or one from before the events
        # carried the sections) keeps what the replica holds: the upsert's insert needs a value.
        if data.sections is not None:
            values["sections"] = {name: data.sections.get(name, "") for name in SECTIONS}
        elif held is not None:
            values["sections"] = held.sections
        else:
            values["sections"] = dict.fromkeys(SECTIONS, "")
        await repository.upsert_summary(uow.session, values)

    return handle
