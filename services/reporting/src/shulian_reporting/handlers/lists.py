"""Supply-demand lists and the shortage catalogue: computed from the projections; a catalogue
published by the province is frozen as an edition (row and ``catalogue.published`` event in one
unit of work). Shortage levels are data: seeded, then edited by the province (If-Match).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.errors import NotFoundError
from shulian_common.records import Versions, add, check_version, flush_update, utc_now
from shulian_common.reference import PROVINCE_CODE
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import orm, repository
from shulian_reporting.contracts import CatalogueEntry, CataloguePublished
from shulian_reporting.domain import supply
from shulian_reporting.domain.scope import scope_of
from shulian_reporting.handlers import reports
from shulian_reporting.handlers.seeding import seed
from shulian_reporting.schemas import (
    CatalogueEntryRead,
    CatalogueRead,
    SupplyDemandLineRead,
    SupplyDemandRead,
)


async def seed_levels(uow_factory: UnitOfWorkFactory, *, node_id: str) -> int:
    """Insert the default shortage levels not there yet; how many were inserted."""
    values = [
        {"code": level.code, "name": level.name, "min_ratio": level.min_ratio}
        for level in supply.SEED_LEVELS
    ]
    return await seed(
        uow_factory, node_id=node_id, insert=repository.insert_missing_levels, values=values
    )


async def supply_demand_list(
    session: AsyncSession, *, scope_code: str, period: supply.Period
) -> SupplyDemandRead:
    """The supply-demand list of a scope for a period."""
    scope = scope_of(scope_code)
    facts = await reports.facts_at_position(session)
    lines = supply.supply_demand(facts, scope, period)
    return SupplyDemandRead(
        scope=scope.code,
        scope_name=scope.name,
        period=period.label,
        start=period.start,
        end=period.end,
        lines=[SupplyDemandLineRead.of(line) for line in lines],
        totals=supply.totals(lines),
    )


async def levels(session: AsyncSession) -> list[supply.Level]:
    """The shortage levels as the domain reads them."""
    return [
        supply.Level(row.code, row.name, row.min_ratio)
        for row in await repository.shortage_levels(session)
    ]


async def draft_catalogue(session: AsyncSession, *, year: int) -> CatalogueRead:
    """The catalogue the province's figures give for ``year`` now (not published)."""
    facts = await reports.facts_at_position(session)
    entries = supply.catalogue(facts, scope_of(PROVINCE_CODE), year, await levels(session))
    return CatalogueRead(
        year=year,
        published=False,
        edition=None,
        published_at=None,
        entries=[_entry(e) for e in entries],
    )


def _entry(entry: supply.Entry) -> CatalogueEntryRead:
    line = SupplyDemandLineRead.of(entry.line)
    return CatalogueEntryRead(
        **line.model_dump(), rank=entry.rank, level=entry.level.code, level_name=entry.level.name
    )


def published(row: orm.Catalogue) -> CatalogueRead:
    """A published edition as the API shows it."""
    return CatalogueRead(
        year=row.year,
        published=True,
        edition=row.edition,
        published_at=row.published_at,
        entries=[CatalogueEntryRead.model_validate(e) for e in row.entries],
    )


async def publish_catalogue(
    uow_factory: UnitOfWorkFactory, *, node_id: str, year: int, published_by: str
) -> orm.Catalogue:
    """Freeze the draft of ``year`` as its next edition and publish ``catalogue.published``."""
    async with uow_factory() as uow:
        draft = await draft_catalogue(uow.session, year=year)
        latest = await repository.latest_catalogue(uow.session, year)
        now = utc_now()
        row = orm.Catalogue(
            id=uuid.uuid4().hex,
            owner_node=node_id,
            created_at=now,
            updated_at=now,
            year=year,
            edition=1 if latest is None else latest.edition + 1,
            published_at=now,
            published_by=published_by,
            entries=[e.model_dump(mode="json") for e in draft.entries],
        )
        await add(uow.session, row)
        uow.record(_event(row, draft.entries, now), key=row.id, subject=row.id)
        await uow.commit()
    return row


def _event(
    row: orm.Catalogue, entries: list[CatalogueEntryRead], at: datetime
) -> CataloguePublished:
    return CataloguePublished(
        id=row.id,
        owner_node=row.owner_node,
        version=row.version,
        year=row.year,
        edition=row.edition,
        published_at=at,
        entries=[
            CatalogueEntry.model_validate(e.model_dump(include=set(CatalogueEntry.model_fields)))
            for e in entries
        ],
    )


async def update_level(
    uow_factory: UnitOfWorkFactory,
    *,
    code: str,
    name: str,
    min_ratio: float,
    expected_version: Versions,
) -> orm.ShortageLevel:
    """Change a shortage level, if still at the version the caller read (else 412)."""
    async with uow_factory() as uow:
        level = await repository.shortage_level(uow.session, code)
        if level is None:
            raise NotFoundError(f"紧缺等级 {code} 不存在")
        check_version(level, expected_version)
        level.name = name
        level.min_ratio = min_ratio
        await flush_update(uow.session, level)
        await uow.commit()
    return level
