"""iCalendar feeds: the province's calendar (filtered) and one activity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from shulian_common.deps import SessionDep
from shulian_common.errors import problem_responses
from shulian_common.http import Authenticated
from shulian_common.records import load
from shulian_events import ical, repository
from shulian_events.domain.terms import ActivityKind, Campaign
from shulian_events.orm import Activity
from shulian_events.repository import ActivityFilter
from shulian_events.schemas import IndustryCode

router = APIRouter(tags=["calendar"], dependencies=[Authenticated])
_ICS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "RFC 5545 iCalendar"}
}


@router.get(
    "/v1/calendar.ics", response_class=Response, responses={**_ICS, **problem_responses(401, 422)}
)
async def calendar_feed(
    session: SessionDep,
    city: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    kind: ActivityKind | None = None,
    campaign: Campaign | None = None,
    industry: Annotated[IndustryCode | None, Query()] = None,
) -> Response:
    """The province-wide calendar as iCalendar, to subscribe from any calendar app."""
    where = ActivityFilter(city_code=city, kind=kind, campaign=campaign, industry=industry)
    rows = await repository.list_activities(session, where, after=None, limit=None)
    body = ical.calendar(rows, name="四川人力资源服务活动日历")
    return Response(body, media_type=ical.MEDIA_TYPE)


@router.get(
    "/v1/activities/{activity_id}.ics",
    response_class=Response,
    responses={**_ICS, **problem_responses(401, 404)},
)
async def activity_feed(activity_id: str, session: SessionDep) -> Response:
    """One activity as iCalendar."""
    row = await load(session, Activity, activity_id, "活动")
    return Response(ical.calendar([row], name=row.title), media_type=ical.MEDIA_TYPE)
