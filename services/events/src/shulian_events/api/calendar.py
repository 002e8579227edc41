"""iCalendar feeds: the province's calendar (filtered) and one activity."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shulian_common.auth import Principal, mint_link_key
from shulian_common.deps import PrincipalDep, SessionDep, principal_by_key_or_bearer
from shulian_common.errors import problem_responses
from shulian_common.records import load
from shulian_events import ical, repository
from shulian_events.domain.terms import ActivityKind, Campaign
from shulian_events.orm import Activity
from shulian_events.repository import ActivityFilter
from shulian_events.schemas import CalendarSubscription, IndustryCode

# Calendar apps subscribe to a URL and cannot send an Authorization header: the feeds also take
# a key minted for this audience alone (refused as a bearer token on the API), valid a year.
CALENDAR_AUDIENCE = "shulian:calendar"
CALENDAR_KEY_TTL = timedelta(days=366)

router = APIRouter(tags=["calendar"])
CalendarReader = Annotated[Principal, Depends(principal_by_key_or_bearer(CALENDAR_AUDIENCE))]
_ICS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "RFC 5545 iCalendar"},
    304: {"description": "Not Modified: `If-None-Match` names the feed's current ETag"},
}
City = Annotated[str | None, Query(pattern=r"^\d{6}$")]


async def _calendar_filter(
    city: City = None,
    kind: ActivityKind | None = None,
    campaign: Campaign | None = None,
    industry: Annotated[IndustryCode | None, Query()] = None,
) -> ActivityFilter:
    return ActivityFilter(city_code=city, kind=kind, campaign=campaign, industry=industry)


CalendarFilter = Annotated[ActivityFilter, Depends(_calendar_filter)]


@router.get(
    "/v1/calendar.ics", response_class=Response, responses={**_ICS, **problem_responses(401, 422)}
)
async def calendar_feed(
    request: Request, _reader: CalendarReader, session: SessionDep, where: CalendarFilter
) -> Response:
    """The province-wide calendar as iCalendar, to subscribe from any calendar app (with the
    link `GET /v1/calendar/subscription` gives, or a bearer token)."""
    rows = await repository.list_activities(session, where, after=None, limit=None)
    return _ics(request, ical.calendar(rows, name="四川人力资源服务活动日历"))


@router.get(
    "/v1/calendar/subscription",
    response_model=CalendarSubscription,
    responses=problem_responses(401, 422),
)
async def calendar_subscription(
    request: Request, principal: PrincipalDep, where: CalendarFilter
) -> CalendarSubscription:
    """A link to the calendar (with these filters) that a calendar app can subscribe to: it
    carries a key good for the calendar feeds only, for a year."""
    settings = request.app.state.settings
    key = mint_link_key(
        settings,
        principal,
        audience=CALENDAR_AUDIENCE,
        ttl_seconds=int(CALENDAR_KEY_TTL.total_seconds()),
    )
    filters = {
        "city": where.city_code,
        "kind": where.kind,
        "campaign": where.campaign,
        "industry": where.industry,
    }
    query = urlencode({**{k: str(v) for k, v in filters.items() if v is not None}, "key": key})
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    url = f"{base}/v1/calendar.ics?{query}"
    return CalendarSubscription(
        url=url,
        webcal_url="webcal://" + url.split("://", 1)[1],
        expires_at=datetime.now(UTC).replace(microsecond=0) + CALENDAR_KEY_TTL,
    )


@router.get(
    "/v1/activities/{activity_id}.ics",
    response_class=Response,
    responses={**_ICS, **problem_responses(401, 404)},
)
async def activity_feed(
    request: Request, activity_id: str, _reader: CalendarReader, session: SessionDep
) -> Response:
    """One activity as iCalendar."""
    row = await load(session, Activity, activity_id, "活动")
    return _ics(request, ical.calendar([row], name=row.title))


def _ics(request: Request, body: bytes) -> Response:
    """The feed with a strong ETag of its bytes, or 304 Not Modified when the calendar app's
    ``If-None-Match`` names it: apps poll their subscriptions, and most polls find no change."""
    tag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    wanted = request.headers.get("if-none-match")
    if wanted is not None and _names(wanted, tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=ical.MEDIA_TYPE, headers=headers)


def _names(if_none_match: str, tag: str) -> bool:
    """Whether an ``If-None-Match`` value matches ``tag`` (weak comparison, RFC 9110 13.1.2)."""
    if if_none_match.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == tag for t in if_none_match.split(","))
