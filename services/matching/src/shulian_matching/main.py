"""The matching service: app factory, its sweeper, and its entry in the ``shulian`` CLI."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from fastapi import FastAPI

from shulian_common.app import ServiceRuntime, create_service_app
from shulian_common.consumer import Subscription
from shulian_common.records import utc_now
from shulian_common.service import ServiceDefinition
from shulian_common.settings import Environment, Settings
from shulian_matching import contracts  # noqa: F401 - registers the events in the catalogue
from shulian_matching.api import routers
from shulian_matching.consumers import subscriptions
from shulian_matching.demo import demo_trade, seed_demo
from shulian_matching.handlers.grabs import GrabRules, release_overdue
from shulian_matching.handlers.orders import expire_due_orders
from shulian_matching.orm import MIGRATIONS
from shulian_matching.settings import SERVICE, MatchingSettings, matching_settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
蜀联·撮合 — 市场下单、企业抢单、人才接单: orders placed by enterprises, markets and nodes; HR
service firms grab service orders, talents take job orders, across the province's nodes.

A grab answers 202: it travels keyed by the order id on `shulian.matching.grabs.v1` to the order's
owner node, which alone decides, in log order (exactly one award per slot). Orders, decisions,
talents and applications publish events without personal data. Errors are RFC 9457
problem+json with a stable `code`.
"""

TAGS = [
    {"name": "orders", "description": "订单：下单、修改、抢单、排序、报名"},
    {"name": "grabs", "description": "企业抢单：结果查询与中标确认"},
    {"name": "talents", "description": "人才档案（个人信息脱敏）"},
]


def rules_of(settings: MatchingSettings) -> GrabRules:
    """The grab rules of a node."""
    return GrabRules(
        node_id=settings.node_id,
        award_cap=settings.award_cap,
        confirm_seconds=settings.award_confirm_seconds,
    )


def _subscriptions(settings: MatchingSettings) -> list[Subscription]:
    return subscriptions(
        settings.node_id,
        award_cap=settings.award_cap,
        confirm_seconds=settings.award_confirm_seconds,
    )


async def sweep_once(runtime: ServiceRuntime, settings: MatchingSettings) -> None:
    """Release unconfirmed awards (the next standby grab wins) and expire past deadlines."""
    now = utc_now()
    await release_overdue(runtime.uow_factory, rules_of(settings), now=now)
    await expire_due_orders(runtime.uow_factory, node_id=settings.node_id, today=now.date())
    if settings.env is Environment.DEV and settings.demo_trade:
        await demo_trade(runtime.uow_factory, settings)


def _sweeper(settings: MatchingSettings):  # type: ignore[no-untyped-def]
    async def start(runtime: ServiceRuntime) -> None:
        async def loop() -> None:
            while not runtime.stop_event.is_set():
                try:
                    await sweep_once(runtime, settings)
                except Exception:
                    logger.exception("sweep failed; retrying at the next interval")
                with suppress(TimeoutError):
                    await asyncio.wait_for(runtime.stop_event.wait(), settings.sweep_seconds)

        runtime.tasks.append(asyncio.create_task(loop(), name="matching sweeper"))

    return start


def create_app(settings: Settings | None = None) -> FastAPI:
    """Matching's FastAPI app; its lifespan migrates, runs relay, consumers and the sweeper."""
    matching = matching_settings(settings or Settings(service=SERVICE))
    return create_service_app(
        settings=matching,
        title="Shulian matching (蜀联·撮合)",
        description=DESCRIPTION,
        routers=routers(),
        migrations=MIGRATIONS,
        subscriptions=_subscriptions(matching),
        on_startup=_sweeper(matching),
        openapi_tags=TAGS,
    )


service = ServiceDefinition(
    name=SERVICE,
    create_app=create_app,
    port_offset=2,
    seed_demo=seed_demo,
    subscriptions=subscriptions,
)
