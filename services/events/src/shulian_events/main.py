"""The events service: app factory, the demo's check-ins, and its entry in the ``shulian`` CLI."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from fastapi import FastAPI

from shulian_common.app import ServiceRuntime, StartupHook, create_service_app
from shulian_common.service import ServiceDefinition
from shulian_common.settings import Environment, Settings
from shulian_events import contracts  # noqa: F401 - registers the events in the catalogue
from shulian_events.api import routers
from shulian_events.consumers import subscriptions
from shulian_events.demo import check_in_demo_suppliers, seed_demo
from shulian_events.orm import MIGRATIONS
from shulian_events.settings import SERVICE, EventsSettings, events_settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
蜀联·活动日历 — the province-wide calendar of Sichuan's "HR services empower industries" action:
matchmaking fairs (对接协同专场), key-industry recruitment sessions (招聘引才专场), the park,
enterprise, campus and village tours, forums, exhibitions, study visits and trainings.

Every node shows the whole province's calendar; only an activity's owner node changes it and
decides its registrations (a request made elsewhere answers `202` and is followed at
`/v1/registrations/{id}`). Feeds: `/v1/calendar.ics` and `/v1/activities/{id}.ics`, by bearer
token or by the link `/v1/calendar/subscription` gives a calendar app. Every change publishes a
snapshot on `shulian.events.activities.v1` or `shulian.events.registrations.v1`. Errors are
RFC 9457 problem+json with a stable `code`.
"""

TAGS = [
    {"name": "activities", "description": "活动：排期、改期、举办、办结、取消"},
    {"name": "registrations", "description": "报名：申请、审核、候补、取消、签到"},
    {"name": "calendar", "description": "iCalendar 订阅"},
]


def _demo_check_ins(settings: EventsSettings) -> StartupHook | None:
    """On a dev node, check suppliers in at the demo's past activities once the registry's
    suppliers have reached the replica (they arrive after start-up, through the consumer)."""
    if settings.env is not Environment.DEV or not settings.demo_check_ins:
        return None

    async def start(runtime: ServiceRuntime) -> None:
        async def loop() -> None:
            while not runtime.stop_event.is_set():
                try:
                    count = await check_in_demo_suppliers(
                        runtime.uow_factory, node_id=settings.node_id
                    )
                    if count:
                        logger.info("demo: %d supplier check-ins at past activities", count)
                except Exception:
                    logger.exception("demo check-ins failed; retrying at the next interval")
                with suppress(TimeoutError):
                    await asyncio.wait_for(runtime.stop_event.wait(), DEMO_CHECK_IN_SECONDS)

        runtime.tasks.append(asyncio.create_task(loop(), name="events demo check-ins"))

    return start


DEMO_CHECK_IN_SECONDS = 30.0


def create_app(settings: Settings | None = None) -> FastAPI:
    """The calendar's FastAPI app; its lifespan migrates the database, runs relay and consumer."""
    events = events_settings(settings or Settings(service=SERVICE))
    return create_service_app(
        settings=events,
        title="Shulian events (蜀联·活动日历)",
        description=DESCRIPTION,
        routers=routers(),
        migrations=MIGRATIONS,
        subscriptions=subscriptions(events.node_id),
        on_startup=_demo_check_ins(events),
        openapi_tags=TAGS,
    )


service = ServiceDefinition(
    name=SERVICE,
    create_app=create_app,
    port_offset=1,
    seed_demo=seed_demo,
    subscriptions=subscriptions,
)
