"""Routes of activities: schedule, list by date range and filters, read, change (If-Match),
reschedule one occurrence, hold, complete with an outcome, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.deps import ConnectionDep, SessionDep, SettingsDep, UowFactoryDep, WriterDep
from shulian_common.errors import problem_responses
from shulian_common.http import (
    Authenticated,
    IdempotencyDep,
    IfMatch,
    created_response,
    expected_versions,
    record_response,
)
from shulian_common.query import Cursor, Limit, QueryModel, page_of, query_model
from shulian_common.records import load
from shulian_common.schemas import Page
from shulian_events import repository
from shulian_events.api.views import activity_view, listed_activity_fields
from shulian_events.domain.lifecycle import ActivityAction, ActivityStatus
from shulian_events.domain.terms import ActivityKind, Campaign, Level
from shulian_events.handlers import activities as handlers
from shulian_events.orm import Activity
from shulian_events.repository import ActivityFilter
from shulian_events.schemas import (
    ActivityCreate,
    ActivityRead,
    ActivityUpdate,
    CancelIn,
    IndustryCode,
    MoveIn,
    OutcomeIn,
)

router = APIRouter(prefix="/v1/activities", tags=["activities"], dependencies=[Authenticated])

_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 422, 428)
Code6 = Annotated[str | None, Field(pattern=r"^\d{6}$")]


class ActivityQuery(QueryModel):
    """The list's page and filters, from the query string, validated in one pass."""

    cursor: Cursor = None
    limit: Limit = None
    starts_before: Annotated[
        AwareDatetime | None,
        Field(alias="to", description="occurrences starting before this (with its offset)"),
    ] = None
    ends_after: Annotated[
        AwareDatetime | None,
        Field(alias="from", description="occurrences ending after this (with its offset)"),
    ] = None
    city: Code6 = None
    division: Code6 = None
    kind: ActivityKind | None = None
    level: Level | None = None
    campaign: Campaign | None = None
    industry: IndustryCode | None = None
    status: ActivityStatus | None = None
    owner_node: Code6 = None

    def filter(self) -> ActivityFilter:
        """The list and calendar filters."""
        return ActivityFilter(
            starts_before=self.starts_before,
            ends_after=self.ends_after,
            city_code=self.city,
            division_code=self.division,
            kind=self.kind,
            level=self.level,
            campaign=self.campaign,
            industry=self.industry,
            status=self.status,
            owner_node=self.owner_node,
        )


QueryDep = Annotated[ActivityQuery, Depends(query_model(ActivityQuery))]


async def _view(session: AsyncSession, row: Activity, *, warn: bool = False) -> ActivityRead:
    occurrences = await repository.occurrences_of(session, [row.id])
    clashes = await handlers.double_bookings(session, row) if warn else []
    return activity_view(row, occurrences, clashes)


@router.post("", status_code=201, response_model=ActivityRead, responses=_WRITE_ERRORS)
async def create_activity(
    body: ActivityCreate,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    session: SessionDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Schedule an activity of the caller's division (warnings list double-bookings)."""
    created = await handlers.create_activity(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        fields=body.model_dump(),
        idempotency=idempotency,
    )
    row = created.record
    view = await _view(session, row, warn=True)
    return created_response(created, view, location=f"/v1/activities/{row.id}")


@router.get("", response_model=Page[ActivityRead], responses=problem_responses(400, 401, 422))
async def list_activities(
    connection: ConnectionDep, settings: SettingsDep, query: QueryDep
) -> Response:
    """The province-wide calendar: activities with an occurrence in ``from``–``to``, filtered."""
    page = page_of(query, settings)
    listed = await repository.listed_activities(
        connection, query.filter(), after=page.after, limit=page.fetch
    )
    # JSON bytes straight from the rows (no model per activity); the tests hold them to
    # ActivityRead.
    return page.response(listed, listed_activity_fields)


@router.get("/{activity_id}", response_model=ActivityRead, responses=problem_responses(401, 404))
async def read_activity(activity_id: str, session: SessionDep) -> JSONResponse:
    """One activity (its owner's or a replica), with its ETag and double-booking warnings."""
    row = await load(session, Activity, activity_id, handlers.LABEL)
    return record_response(await _view(session, row, warn=True), version=row.version)


@router.patch("/{activity_id}", response_model=ActivityRead, responses=_WRITE_ERRORS)
async def update_activity(
    activity_id: str,
    body: ActivityUpdate,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    session: SessionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change an activity; new dates reschedule it. Needs ``If-Match``."""
    row = await handlers.update_activity(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        activity_id=activity_id,
        expected=expected_versions(if_match),
        changes=body.model_dump(exclude_unset=True),
    )
    return record_response(await _view(session, row, warn=True), version=row.version)


@router.post(
    "/{activity_id}/occurrences/{key}/move", response_model=ActivityRead, responses=_WRITE_ERRORS
)
async def move_occurrence(
    activity_id: str,
    key: str,
    body: MoveIn,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    session: SessionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Move one occurrence of a series; it keeps its registrations. Needs ``If-Match``."""
    row = await handlers.move_occurrence(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        activity_id=activity_id,
        expected=expected_versions(if_match),
        key=key,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    return record_response(await _view(session, row, warn=True), version=row.version)


@router.post(
    "/{activity_id}/occurrences/{key}/cancel", response_model=ActivityRead, responses=_WRITE_ERRORS
)
async def cancel_occurrence(
    activity_id: str,
    key: str,
    body: CancelIn,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    session: SessionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Cancel one occurrence of a series. Needs ``If-Match``."""
    row = await handlers.cancel_occurrence(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        activity_id=activity_id,
        expected=expected_versions(if_match),
        key=key,
        reason=body.reason,
    )
    return record_response(await _view(session, row), version=row.version)


async def _step(
    activity_id: str,
    action: ActivityAction,
    principal: Any,
    uow_factory: Any,
    settings: Any,
    session: AsyncSession,
    if_match: str | None,
    **extra: Any,
) -> JSONResponse:
    row = await handlers.step(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        activity_id=activity_id,
        expected=expected_versions(if_match),
        action=action,
        **extra,
    )
    return record_response(await _view(session, row), version=row.version)


@router.post("/{activity_id}/hold", response_model=ActivityRead, responses=_WRITE_ERRORS)
async def hold_activity(
    activity_id: str,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    session: SessionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Mark the activity as held (it took place). Needs ``If-Match``."""
    return await _step(
        activity_id, ActivityAction.HOLD, principal, uow_factory, settings, session, if_match
    )


@router.post("/{activity_id}/complete", response_model=ActivityRead, responses=_WRITE_ERRORS)
async def complete_activity(
    activity_id: str,
    body: OutcomeIn,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    session: SessionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Complete a held activity with its outcome. Needs ``If-Match``."""
    return await _step(
        activity_id,
        ActivityAction.COMPLETE,
        principal,
        uow_factory,
        settings,
        session,
        if_match,
        outcome=body.model_dump(),
    )


@router.post("/{activity_id}/cancel", response_model=ActivityRead, responses=_WRITE_ERRORS)
async def cancel_activity(
    activity_id: str,
    body: CancelIn,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    session: SessionDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Cancel an activity with a reason. Needs ``If-Match``."""
    return await _step(
        activity_id,
        ActivityAction.CANCEL,
        principal,
        uow_factory,
        settings,
        session,
        if_match,
        reason=body.reason,
    )
