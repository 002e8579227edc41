"""Demo seeding of reporting: its database migrated, targets and warning rules in place.

Reporting holds no demo records of its own: its figures come from the demo records the other
services publish, which it projects from the streams once it runs.
"""

from __future__ import annotations

from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting.handlers.targets import seed_targets
from shulian_reporting.handlers.warnings import seed_rules
from shulian_reporting.orm import MIGRATIONS
from shulian_reporting.settings import reporting_settings


async def seed_demo(settings: Settings) -> int:
    """Migrate the node's reporting database and seed targets and rules; rows inserted."""
    settings = reporting_settings(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine, MIGRATIONS)
        uow_factory = UnitOfWorkFactory(create_session_factory(engine), source=settings.source)
        targets = await seed_targets(uow_factory, node_id=settings.node_id)
        rules = await seed_rules(uow_factory, node_id=settings.node_id)
        return targets + rules
    finally:
        await engine.dispose()
