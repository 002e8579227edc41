"""The reporting service: app factory and its entry in the ``shulian`` CLI."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from fastapi import FastAPI

from shulian_common.app import ServiceRuntime, create_service_app
from shulian_common.service import ServiceDefinition
from shulian_common.settings import Settings
from shulian_reporting import contracts  # noqa: F401 - registers the events in the catalogue
from shulian_reporting.api import routers
from shulian_reporting.api.common import today_in_sichuan
from shulian_reporting.cli import add_commands
from shulian_reporting.consumers import subscriptions
from shulian_reporting.demo import seed_demo
from shulian_reporting.handlers import reports
from shulian_reporting.handlers.lists import seed_levels
from shulian_reporting.handlers.targets import seed_targets
from shulian_reporting.handlers.warnings import evaluate_warnings, seed_rules
from shulian_reporting.orm import MIGRATIONS
from shulian_reporting.settings import SERVICE, ReportingSettings, reporting_settings

logger = logging.getLogger(__name__)

DESCRIPTION = """
蜀联·报表 — what the province and each city are held to under Sichuan's "HR services empower
industries" action: every indicator of the notice for a year and a scope (province, region,
city) against its target, with pace and status (达标 / 进度正常 / 滞后); targets as data;
early warnings; the supervision notice ranking the 21 cities; each city's annual work summary;
supply-demand lists and the yearly shortage catalogue; exports as XLSX, CSV and DOCX; and a
dashboard at `/dashboard` (ECharts served locally).

Figures come from reporting's own projections of the registry's, events' and matching's streams
(rebuildable: `shulian reporting rebuild`). Errors are RFC 9457 problem+json with a stable
`code`.
"""

TAGS = [
    {"name": "indicators", "description": "主要指标完成情况"},
    {"name": "targets", "description": "目标值（省级设定）"},
    {"name": "warnings", "description": "急需紧缺预警与进度预警"},
    {"name": "notices", "description": "调度通报"},
    {"name": "lists", "description": "供需清单与急需紧缺人才目录"},
    {"name": "summaries", "description": "年度工作总结"},
    {"name": "dashboard", "description": "指标看板"},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Reporting's FastAPI app; its lifespan migrates, seeds targets and rules, runs consumers."""
    reporting = reporting_settings(settings or Settings(service=SERVICE))

    async def on_startup(runtime: ServiceRuntime) -> None:
        await seed_targets(runtime.uow_factory, node_id=reporting.node_id)
        await seed_rules(runtime.uow_factory, node_id=reporting.node_id)
        await seed_levels(runtime.uow_factory, node_id=reporting.node_id)
        runtime.tasks.append(asyncio.create_task(_evaluate_periodically(runtime, reporting)))
        runtime.tasks.append(asyncio.create_task(_warm_facts(runtime)))

    return create_service_app(
        settings=reporting,
        title="Shulian reporting (蜀联·报表)",
        description=DESCRIPTION,
        routers=routers(),
        migrations=MIGRATIONS,
        subscriptions=subscriptions(reporting.node_id),
        on_startup=on_startup,
        openapi_tags=TAGS,
    )


async def _warm_facts(runtime: ServiceRuntime) -> None:
    """Load the projected facts once at start-up, so the first report does not pay the whole
    load (about half a second of CPU at 30,000 projected rows); a failure is only logged (the
    first report loads them then)."""
    try:
        await reports.warm(runtime.session_factory)
    except Exception:
        logger.exception("loading the facts at start-up failed")


async def _evaluate_periodically(runtime: ServiceRuntime, settings: ReportingSettings) -> None:
    """Evaluate the warning rules every ``warning_interval_s`` until the service stops."""
    while True:
        with suppress(TimeoutError):
            await asyncio.wait_for(runtime.stop_event.wait(), timeout=settings.warning_interval_s)
        if runtime.stop_event.is_set():
            return
        today = today_in_sichuan()
        try:
            await evaluate_warnings(
                runtime.uow_factory, node_id=settings.node_id, year=today.year, today=today
            )
        except Exception:  # the next round tries again; a failed round changes nothing
            logger.exception("warning evaluation failed")


service = ServiceDefinition(
    name=SERVICE,
    create_app=create_app,
    port_offset=3,
    seed_demo=seed_demo,
    subscriptions=subscriptions,
    add_commands=add_commands,
)
