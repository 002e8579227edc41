"""The partner feed's routes: ``/v1/feed`` (batches, long poll), ``/v1/feed/stream`` (SSE, resumable
with ``Last-Event-ID``, a comment line every ``HEARTBEAT`` seconds so proxies keep it open) and
``/v1/feed/events/{id}`` (one event, where thin webhooks point). Readers: partners and operators.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.auth import Principal, Role
from shulian_common.catalogue import catalogue
from shulian_common.deps import RuntimeDep, SettingsDep, require_roles
from shulian_common.errors import BadRequestError, NotFoundError, problem_responses
from shulian_common.feed import (
    BATCH_MEDIA_TYPE,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_WAIT,
    NEXT_CURSOR_HEADER,
    POLL_INTERVAL,
    CursorExpiredError,
    FeedFilter,
    NotGrantedError,
    decode_cursor,
    encode_cursor,
    granted,
    parse_city,
    parse_types,
    poll_interval,
    read_event,
    read_feed,
    reader_grant,
    wait_for_feed,
)
from shulian_common.pulse import Pulse
from shulian_common.settings import Settings

HEARTBEAT = 15.0  # seconds between SSE comment lines (proxies close silent streams)
SSE_RETRY_MS = 3000
PARTNER_READERS = (Role.PARTNER, Role.PROVINCE_ADMIN, Role.CITY_OPERATOR, Role.COUNTY_OPERATOR)
FeedReaderDep = Annotated[Principal, Depends(require_roles(*PARTNER_READERS))]

# --- routes -------------------------------------------------------------------------------------

TypesQuery = Annotated[
    list[str] | None,
    Query(
        description="CloudEvents types to keep, repeated or comma-separated (default: all)",
        max_length=50,
    ),
]
CityQuery = Annotated[
    str | None,
    Query(
        pattern=r"^\d{6}$",
        description="GB/T 2260 code: events whose division fields lie within it",
        examples=["510100"],
    ),
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="events per batch at most")]


def _filter(
    settings: Settings, reader: Principal, types: list[str] | None, city: str | None
) -> FeedFilter:
    where = FeedFilter(types=parse_types(types), city=parse_city(city))
    published = {s.type for s in catalogue.for_service(settings.service)}
    unknown = sorted((where.types or set()) - published)
    if unknown:
        # A type this service never publishes would make a reader wait for nothing.
        raise BadRequestError(
            f"本服务不发布以下事件类型：{'、'.join(unknown)}", code="unknown_event_type"
        )
    return granted(where, reader_grant(settings, reader))


def feed_router() -> APIRouter:
    """``/v1/feed`` (batches, long poll), ``/v1/feed/stream`` (SSE) and ``/v1/feed/events/{id}``."""
    router = APIRouter(prefix="/v1/feed", tags=["feed"])
    errors = problem_responses(400, 401, 403, NotGrantedError, CursorExpiredError)

    @router.get(
        "",
        summary="Changes feed",
        response_class=Response,
        responses={
            200: {
                "description": "Events after the cursor in commit order (a JSON array); "
                f"`{NEXT_CURSOR_HEADER}` is where the next read starts",
                "content": {BATCH_MEDIA_TYPE: {"schema": {"type": "array", "items": {}}}},
                "headers": {NEXT_CURSOR_HEADER: {"schema": {"type": "string"}}},
            },
            **errors,
        },
    )
    async def read(
        reader: FeedReaderDep,
        runtime: RuntimeDep,
        settings: SettingsDep,
        after: Annotated[
            str | None, Query(max_length=200, description="`Feed-Next-Cursor` of the last read")
        ] = None,
        types: TypesQuery = None,
        city: CityQuery = None,
        limit: LimitQuery = DEFAULT_LIMIT,
        wait: Annotated[
            float, Query(ge=0, le=MAX_WAIT, description="seconds to hold when nothing is new")
        ] = 0,
    ) -> Response:
        """Published events after `after`, in commit order; `wait` long-polls for new ones.

        A partner reads within its grant: asking beyond it is 403 `not_granted`."""
        where = _filter(settings, reader, types, city)
        await runtime.relay.listen_for_feed()  # a worker without the relay: woken all the same
        position = decode_cursor(settings.service, after)
        page = await wait_for_feed(
            runtime.engine,
            runtime.relay.published_pulse,
            service=settings.service,
            after=position,
            limit=limit,
            where=where,
            wait=wait,
            poll=poll_interval(runtime.relay.listening),
        )
        body = json.dumps(page.events, ensure_ascii=False, separators=(",", ":"))
        headers = {NEXT_CURSOR_HEADER: encode_cursor(settings.service, page.last)}
        return Response(body, media_type=BATCH_MEDIA_TYPE, headers=headers)

    @router.get(
        "/stream",
        summary="Live tail (Server-Sent Events)",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "One SSE message per event (`id` = its feed cursor, `data` = the "
                "structured CloudEvent), a comment line every 15 s",
                # No schema: OpenAPI 3.1 has none for a stream of SSE messages (3.2's itemSchema),
                # and one for a whole body would be validated against each message by tools.
                "content": {"text/event-stream": {}},
            },
            **errors,
        },
    )
    async def stream(
        request: Request,
        reader: FeedReaderDep,
        runtime: RuntimeDep,
        settings: SettingsDep,
        after: Annotated[str | None, Query(max_length=200)] = None,
        types: TypesQuery = None,
        city: CityQuery = None,
        last_event_id: Annotated[
            str | None,
            Header(alias="Last-Event-ID", max_length=200, description="resume after this event"),
        ] = None,
    ) -> StreamingResponse:
        """Events as they are published, from `Last-Event-ID` (or `after`) on."""
        where = _filter(settings, reader, types, city)
        await runtime.relay.listen_for_feed()  # a worker without the relay: woken all the same
        position = decode_cursor(settings.service, last_event_id or after)
        tail = sse_tail(
            request,
            runtime.engine,
            runtime.relay.published_pulse,
            settings.service,
            position,
            where,
            poll=poll_interval(runtime.relay.listening),
        )
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(tail, media_type="text/event-stream", headers=headers)

    @router.get(
        "/events/{event_id}",
        summary="One published event",
        responses={
            200: {"content": {"application/cloudevents+json": {"schema": {"type": "object"}}}},
            **problem_responses(401, 403, 404, NotGrantedError),
        },
        response_class=Response,
    )
    async def one(
        reader: FeedReaderDep, runtime: RuntimeDep, settings: SettingsDep, event_id: str
    ) -> Response:
        """A published event by id (what a thin webhook's `dataref` points to)."""
        where = granted(FeedFilter(), reader_grant(settings, reader))
        event = await read_event(runtime.engine, event_id)
        if event is None:
            raise NotFoundError("事件不存在或尚未发布", code="event_not_found")
        if not where.matches(event["type"], event["data"]):
            raise NotGrantedError("该事件不在合作方的授权范围内")
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        return Response(body, media_type="application/cloudevents+json")

    return router


def sse_message(event: Mapping[str, Any]) -> str:
    """One SSE message: the event's feed cursor as ``id``, the CloudEvent as ``data``."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event['feedcursor']}\ndata: {data}\n\n"


async def sse_tail(
    request: Request,
    engine: AsyncEngine,
    pulse: Pulse,
    service: str,
    after: int,
    where: FeedFilter,
    *,
    heartbeat: float | None = None,
    poll: float = POLL_INTERVAL,
) -> AsyncIterator[str]:
    """The SSE stream: pending events at once, then each batch as the relay publishes it."""
    heartbeat = HEARTBEAT if heartbeat is None else heartbeat
    yield f"retry: {SSE_RETRY_MS}\n\n"
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        armed = pulse.arm()  # before reading: a publish during the read still wakes the wait
        page = await read_feed(
            engine, service=service, after=after, limit=DEFAULT_LIMIT, where=where
        )
        after = page.last
        for event in page.events:
            yield sse_message(event)
        if page.events:
            quiet_since = time.monotonic()
            continue
        if time.monotonic() - quiet_since >= heartbeat:
            yield ": heartbeat\n\n"
            quiet_since = time.monotonic()
        await pulse.wait(min(heartbeat, poll), since=armed)
