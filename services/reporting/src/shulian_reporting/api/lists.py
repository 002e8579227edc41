"""Supply-demand lists (供需清单) and the shortage catalogue (急需紧缺人才目录), with their
exports; the shortage levels the catalogue grades by (thresholds as data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from shulian_common.deps import SessionDep, SettingsDep, UowFactoryDep
from shulian_common.errors import NotFoundError, ValidationFailedError, problem_responses
from shulian_common.http import Authenticated, IfMatch, expected_versions, record_response
from shulian_reporting import repository
from shulian_reporting.api.common import (
    CSV,
    PROVINCE,
    READER,
    XLSX,
    ProvinceDep,
    ReaderDep,
    Scope,
    Year,
    check_scope_visible,
    download,
)
from shulian_reporting.domain.supply import Period, period_of
from shulian_reporting.exports.tables import catalogue_table, supply_demand_table
from shulian_reporting.exports.text import csv_bytes
from shulian_reporting.exports.xlsx import workbook
from shulian_reporting.handlers import lists
from shulian_reporting.schemas import (
    CatalogueRead,
    ShortageLevelRead,
    ShortageLevelUpdate,
    SupplyDemandRead,
)

router = APIRouter(prefix="/v1", tags=["lists"], dependencies=[Authenticated])
PROBLEMS = problem_responses(401, 403, 404, 422)

Quarter = Annotated[int | None, Query(ge=1, le=4, description="one quarter of the year")]
Month = Annotated[int | None, Query(ge=1, le=12, description="one month of the year")]


def _period(year: int, quarter: int | None, month: int | None) -> Period:
    if quarter is not None and month is not None:
        raise ValidationFailedError("季度与月份只能选其一", code="invalid_period")
    return period_of(year, quarter=quarter, month=month)


async def _list(
    principal: ReaderDep,
    session: SessionDep,
    year: Year,
    scope: Scope = "510000",
    quarter: Quarter = None,
    month: Month = None,
) -> SupplyDemandRead:
    check_scope_visible(principal, scope)
    return await lists.supply_demand_list(
        session, scope_code=scope, period=_period(year, quarter, month)
    )


SupplyDemandDep = Annotated[SupplyDemandRead, Depends(_list)]


@router.get("/lists/supply-demand", response_model=SupplyDemandRead, responses=PROBLEMS)
async def supply_demand(data: SupplyDemandDep) -> SupplyDemandRead:
    """Demand from orders (industry, occupation, head count) against supply (listed suppliers
    serving the industry, talents of the occupation) per city, with the gap, for a year, a
    quarter or a month (query: `year`, `scope`, `quarter` or `month`)."""
    return data


@router.get("/lists/supply-demand.xlsx", response_class=Response, responses=PROBLEMS)
async def supply_demand_xlsx(data: SupplyDemandDep) -> Response:
    """The supply-demand list as an XLSX workbook."""
    table = supply_demand_table(data)
    content = workbook([("供需清单", table)])
    return download(content, media_type=XLSX, filename=f"{table.title}.xlsx")


@router.get("/lists/supply-demand.csv", response_class=Response, responses=PROBLEMS)
async def supply_demand_csv(data: SupplyDemandDep) -> Response:
    """The supply-demand list as CSV (UTF-8 with BOM)."""
    table = supply_demand_table(data)
    return download(csv_bytes(table), media_type=CSV, filename=f"{table.title}.csv")


async def _catalogue(session: SessionDep, year: int, draft: bool) -> CatalogueRead:
    if draft:
        return await lists.draft_catalogue(session, year=year)
    row = await repository.latest_catalogue(session, year)
    if row is None:
        raise NotFoundError(f"{year}年急需紧缺人才目录尚未发布", code="catalogue_not_published")
    return lists.published(row)


CatalogueYear = Annotated[int, Path(ge=2023, le=2100, description="the catalogue's year")]
Draft = Annotated[bool, Query(description="the draft the figures give now, not the published")]


@router.get(
    "/catalogues/{year}", response_model=CatalogueRead, responses=PROBLEMS, dependencies=[READER]
)
async def read_catalogue(
    session: SessionDep, year: CatalogueYear, draft: Draft = False
) -> CatalogueRead:
    """A year's shortage catalogue: its latest published edition, or (``draft=true``) what the
    figures give now — occupations by industry ranked by unmet demand, with a shortage level."""
    return await _catalogue(session, year, draft)


@router.get(
    "/catalogues/{year}/export.xlsx",
    response_class=Response,
    responses=PROBLEMS,
    dependencies=[READER],
)
async def catalogue_xlsx(
    session: SessionDep, year: CatalogueYear, draft: Draft = False
) -> Response:
    """The catalogue as an XLSX workbook."""
    table = catalogue_table(await _catalogue(session, year, draft))
    return download(workbook([("急需紧缺人才目录", table)]), media_type=XLSX,
                    filename=f"{table.title}.xlsx")  # fmt: skip


@router.post(
    "/catalogues/{year}/publish",
    status_code=201,
    response_model=CatalogueRead,
    responses=problem_responses(401, 403, 422),
)
async def publish_catalogue(
    year: CatalogueYear,
    principal: ProvinceDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
) -> CatalogueRead:
    """Publish the year's catalogue as its next edition (the province only); announces
    ``catalogue.published`` on ``shulian.reporting.catalogues.v1``."""
    row = await lists.publish_catalogue(
        uow_factory, node_id=settings.node_id, year=year, published_by=principal.sub
    )
    return lists.published(row)


@router.get(
    "/shortage-levels",
    response_model=list[ShortageLevelRead],
    responses=problem_responses(401, 403),
    dependencies=[READER],
)
async def list_levels(session: SessionDep) -> list[ShortageLevelRead]:
    """The catalogue's shortage levels, highest threshold first."""
    return [ShortageLevelRead.model_validate(r) for r in await repository.shortage_levels(session)]


@router.put(
    "/shortage-levels/{code}",
    response_model=ShortageLevelRead,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
    dependencies=[PROVINCE],
)
async def update_level(
    code: str, body: ShortageLevelUpdate, uow_factory: UowFactoryDep, if_match: IfMatch = None
) -> JSONResponse:
    """Change a level's name or threshold; needs `If-Match`; the province only."""
    level = await lists.update_level(
        uow_factory,
        code=code,
        name=body.name,
        min_ratio=body.min_ratio,
        expected_version=expected_versions(if_match),
    )
    return record_response(ShortageLevelRead.model_validate(level), version=level.version)
