"""Annual work summaries: a city writes and submits its own by 12-20; the province decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Principal, Role
from shulian_common.commands import RequestRead, accepted_response, load_request, request_read
from shulian_common.deps import PrincipalDep, SessionDep, SettingsDep, UowFactoryDep
from shulian_common.errors import (
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
    problem_responses,
)
from shulian_common.http import (
    Authenticated,
    IdempotencyDep,
    IfMatch,
    expected_versions,
    record_response,
)
from shulian_common.idempotency import Idempotency
from shulian_common.records import check_version
from shulian_common.reference import cities
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import orm, repository
from shulian_reporting.api.common import (
    DOCX,
    PROVINCE,
    AsOf,
    ReaderDep,
    Year,
    check_scope_visible,
    download,
    own_city,
    today_in_sichuan,
)
from shulian_reporting.domain.scope import city_name, scope_of
from shulian_reporting.domain.summaries import (
    SECTIONS,
    SummaryAction,
    SummaryStatus,
    is_overdue,
    next_status,
)
from shulian_reporting.exports.word import summary_docx
from shulian_reporting.handlers import reports
from shulian_reporting.handlers.summaries import (
    REQUEST_KIND,
    edit_summary,
    is_late,
    request_decision,
    step_summary,
)
from shulian_reporting.schemas import (
    SummaryDecision,
    SummaryRead,
    SummaryStateRead,
    SummaryWrite,
)

router = APIRouter(prefix="/v1/summaries", tags=["summaries"], dependencies=[Authenticated])
decisions_router = APIRouter(
    prefix="/v1/summary-decisions", tags=["summaries"], dependencies=[Authenticated]
)
WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 412, 422, 428)


def _read(summary: orm.Summary, today: object) -> SummaryRead:
    from datetime import date

    assert isinstance(today, date)
    body = SummaryRead.model_validate(summary)
    status = SummaryStatus(summary.status)
    return body.model_copy(
        update={
            "late": is_late(summary),
            "overdue": is_overdue(status, year=summary.year, today=today),
        }
    )


def _city_writer(principal: Principal, city: str) -> None:
    scope_of(city)  # 404 for an unknown code
    if principal.role is not Role.CITY_OPERATOR or own_city(principal) != city:
        raise ForbiddenError("年度工作总结由本市(州)人社局填报", code="not_city_of_summary")


@router.get("", response_model=list[SummaryStateRead], responses=problem_responses(401, 403))
async def list_summaries(
    principal: ReaderDep, session: SessionDep, year: Year, as_of: AsOf = None
) -> list[SummaryStateRead]:
    """Where each city's summary of ``year`` stands (a city sees its own)."""
    today = as_of or today_in_sichuan()
    held = {s.city_code: s for s in await repository.summaries_of(session, year)}
    mine = own_city(principal)
    found = []
    for city in cities():
        if principal.role is not Role.PROVINCE_ADMIN and mine != city.code:
            continue
        summary = held.get(city.code)
        status = SummaryStatus(summary.status) if summary else None
        found.append(
            SummaryStateRead(
                city_code=city.code,
                city_name=city_name(city.code),
                status=status.value if status else None,
                status_label=status.label if status else "未填报",
                overdue=is_overdue(status, year=year, today=today),
                late=bool(summary and is_late(summary)),
                owner_node=summary.owner_node if summary else None,
            )
        )
    return found


@router.get(
    "/{year}/{city}", response_model=SummaryRead, responses=problem_responses(401, 403, 404)
)
async def read_summary(
    year: int, city: str, principal: ReaderDep, session: SessionDep, as_of: AsOf = None
) -> JSONResponse:
    """One city's summary, with its ETag."""
    check_scope_visible(principal, city)
    summary = await repository.summary_for(session, city, year)
    if summary is None:
        raise NotFoundError(f"{city} 尚无 {year} 年度工作总结")
    body = _read(summary, as_of or today_in_sichuan())
    return record_response(body, version=summary.version)


@router.put("/{year}/{city}", response_model=SummaryRead, responses=WRITE_PROBLEMS)
async def write_summary(
    year: int,
    city: str,
    body: SummaryWrite,
    principal: PrincipalDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Write the narrative sections (the city's own; `If-Match` once it exists)."""
    _city_writer(principal, city)
    unknown = set(body.sections) - set(SECTIONS)
    if unknown:
        raise ValidationFailedError(
            f"未知的章节：{'、'.join(sorted(unknown))}；应为：{'、'.join(SECTIONS)}",
            code="unknown_section",
        )
    summary = await edit_summary(
        uow_factory,
        node_id=settings.node_id,
        city_code=city,
        year=year,
        sections=body.sections,
        expected_version=expected_versions(if_match) if if_match is not None else None,
        version_given=if_match is not None,
    )
    return record_response(_read(summary, today_in_sichuan()), version=summary.version)


async def _step(
    uow_factory: UowFactoryDep,
    node_id: str,
    city: str,
    year: int,
    action: SummaryAction,
    if_match: str | None,
    comment: str | None = None,
) -> JSONResponse:
    summary = await step_summary(
        uow_factory,
        node_id=node_id,
        city_code=city,
        year=year,
        action=action,
        expected_version=expected_versions(if_match),
        comment=comment,
    )
    return record_response(_read(summary, today_in_sichuan()), version=summary.version)


@router.post("/{year}/{city}/submit", response_model=SummaryRead, responses=WRITE_PROBLEMS)
async def submit(
    year: int,
    city: str,
    principal: PrincipalDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Submit the summary to the province (due 12-20; later submissions are marked late)."""
    _city_writer(principal, city)
    return await _step(uow_factory, settings.node_id, city, year, SummaryAction.SUBMIT, if_match)


async def _decide(
    decision: _Decision,
    city: str,
    year: int,
    action: SummaryAction,
    if_match: str | None,
    comment: str | None,
) -> JSONResponse:
    """The province's approval or return: of this node's summary at once; of another node's
    (a replica here) by asking its owner node, which decides (202, followed at ``Location``)."""
    held = await repository.summary_for(decision.session, city, year)
    node_id = decision.settings.node_id
    if held is None or held.owner_node == node_id:
        return await _step(decision.uow_factory, node_id, city, year, action, if_match, comment)
    # Refuse here what the owner would refuse from this replica (nothing is sent): a stale
    # version, a step its status does not allow, a return without comment.
    check_version(held, expected_versions(if_match))
    next_status(SummaryStatus(held.status), action)
    if action is SummaryAction.RETURN and not (comment or "").strip():
        raise ValidationFailedError("退回年度工作总结须填写意见", code="comment_required")
    created = await request_decision(
        decision.uow_factory,
        node_id=node_id,
        summary=held,
        action=action,
        expected_version=held.version,
        comment=comment,
        requester_sub=decision.principal.sub,
        idempotency=decision.idempotency,
    )
    return accepted_response(created, location=f"/v1/summary-decisions/{created.record.id}")


@dataclass(frozen=True, slots=True)
class _Decision:
    principal: Principal
    session: AsyncSession
    uow_factory: UnitOfWorkFactory
    settings: Settings
    idempotency: Idempotency | None


def _decision(
    principal: PrincipalDep,
    session: SessionDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> _Decision:
    return _Decision(principal, session, uow_factory, settings, idempotency)


DecisionDep = Annotated[_Decision, Depends(_decision)]
DECISION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **WRITE_PROBLEMS,
    202: {"model": RequestRead, "description": "another node's summary: its owner decides"},
}


@router.post(
    "/{year}/{city}/approve",
    response_model=SummaryRead,
    responses=DECISION_RESPONSES,
    dependencies=[PROVINCE],
)
async def approve(
    year: int,
    city: str,
    body: SummaryDecision,
    decision: DecisionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Approve a submitted summary; the province only. Another node's summary: 202, its owner
    node decides (follow ``Location``)."""
    return await _decide(decision, city, year, SummaryAction.APPROVE, if_match, body.comment)


@router.post(
    "/{year}/{city}/return",
    response_model=SummaryRead,
    responses=DECISION_RESPONSES,
    dependencies=[PROVINCE],
)
async def return_summary(
    year: int,
    city: str,
    body: SummaryDecision,
    decision: DecisionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Return a submitted summary to the city with comments; the province only. Another node's
    summary: 202, its owner node decides (follow ``Location``)."""
    return await _decide(decision, city, year, SummaryAction.RETURN, if_match, body.comment)


@decisions_router.get(
    "/{request_id}",
    response_model=RequestRead,
    responses=problem_responses(401, 403, 404),
    dependencies=[PROVINCE],
)
async def read_decision(request_id: str, session: SessionDep) -> RequestRead:
    """The province's request to another node to approve or return a summary: pending, then
    accepted (the summary's replica follows) or rejected with the reason."""
    row = await load_request(session, request_id, kind=REQUEST_KIND, label="年度工作总结审核申请")
    return request_read(row)


@router.get(
    "/{year}/{city}/summary.docx",
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
async def summary_document(
    year: int, city: str, principal: ReaderDep, session: SessionDep, as_of: AsOf = None
) -> Response:
    """The summary as DOCX: the city's figures from the data, with its narrative sections
    (empty headings while it has none: the draft to start from)."""
    check_scope_visible(principal, city)
    summary = await repository.summary_for(session, city, year)
    results = await reports.indicators(
        session, scope_code=city, year=year, today=as_of or today_in_sichuan()
    )
    status = SummaryStatus(summary.status) if summary else None
    content = summary_docx(
        city=city_name(city),
        year=year,
        status_label=status.label if status else "草稿（系统生成）",
        sections=summary.sections if summary else dict.fromkeys(SECTIONS, ""),
        comment=summary.comment if summary else None,
        results=results,
    )
    filename = f"{city_name(city)}{year}年度工作总结.docx"
    return download(content, media_type=DOCX, filename=filename)
