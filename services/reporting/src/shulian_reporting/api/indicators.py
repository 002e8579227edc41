"""Indicators for a year and a scope, as JSON, XLSX or CSV."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from shulian_common.deps import SessionDep
from shulian_common.errors import problem_responses
from shulian_common.http import Authenticated
from shulian_reporting.api.common import (
    CSV,
    XLSX,
    AsOf,
    ReaderDep,
    Scope,
    Year,
    check_scope_visible,
    download,
    today_in_sichuan,
)
from shulian_reporting.domain import activities
from shulian_reporting.domain.indicators import report_date
from shulian_reporting.domain.labels import ACTIVITY_KINDS
from shulian_reporting.domain.scope import scope_of
from shulian_reporting.exports.tables import city_breakdown_table, indicator_table
from shulian_reporting.exports.text import csv_bytes
from shulian_reporting.exports.xlsx import workbook
from shulian_reporting.handlers import reports
from shulian_reporting.schemas import ActivityFiguresRead, IndicatorRead

router = APIRouter(prefix="/v1/indicators", tags=["indicators"], dependencies=[Authenticated])
PROBLEMS = problem_responses(401, 403, 404, 422)


@router.get("", response_model=list[IndicatorRead], responses=PROBLEMS)
async def list_indicators(
    principal: ReaderDep,
    session: SessionDep,
    year: Year,
    scope: Scope = "510000",
    as_of: AsOf = None,
) -> list[IndicatorRead]:
    """Every indicator of the action for a scope and year: target, actual, share, pace, status
    (达标 / 进度正常 / 滞后, or 暂无数据来源 when no service produces its source yet)."""
    check_scope_visible(principal, scope)
    results = await reports.indicators(
        session, scope_code=scope, year=year, today=as_of or today_in_sichuan()
    )
    return [IndicatorRead.of(r) for r in results]


@router.get("/activities", response_model=ActivityFiguresRead, responses=PROBLEMS)
async def activity_figures(
    principal: ReaderDep,
    session: SessionDep,
    year: Year,
    scope: Scope = "510000",
    as_of: AsOf = None,
) -> ActivityFiguresRead:
    """The activity calendar in figures: sessions (场次) of fairs, recruitment sessions, tours,
    forums… and the outcomes of completed ones (positions offered, intents signed, HR managers
    attended), in total and by kind, level, city and month."""
    check_scope_visible(principal, scope)
    day = report_date(year, as_of or today_in_sichuan())
    facts = await reports.facts_at_position(session)
    figures = activities.activity_figures(facts, scope_of(scope), year, day)
    return ActivityFiguresRead.model_validate(
        {
            **{name: getattr(figures, name) for name in
               ("total", "by_kind", "by_level", "by_city", "by_month")},
            "scope": scope,
            "scope_name": scope_of(scope).name,
            "year": year,
            "as_of": day,
            "kind_names": {kind: ACTIVITY_KINDS.get(kind, kind) for kind in figures.by_kind},
        }
    )  # fmt: skip


@router.get("/export.xlsx", responses=PROBLEMS, response_class=Response)
async def export_xlsx(
    principal: ReaderDep,
    session: SessionDep,
    year: Year,
    scope: Scope = "510000",
    as_of: AsOf = None,
) -> Response:
    """The indicator table (and the directory by city) as an XLSX workbook."""
    check_scope_visible(principal, scope)
    results = await reports.indicators(
        session, scope_code=scope, year=year, today=as_of or today_in_sichuan()
    )
    table = indicator_table(results)
    directory = next(r for r in results if r.indicator.code == "directory_suppliers")
    content = workbook([("主要指标", table), ("名录库分市州", city_breakdown_table(directory))])
    return download(content, media_type=XLSX, filename=f"{table.title}.xlsx")


@router.get("/export.csv", responses=PROBLEMS, response_class=Response)
async def export_csv(
    principal: ReaderDep,
    session: SessionDep,
    year: Year,
    scope: Scope = "510000",
    as_of: AsOf = None,
) -> Response:
    """The indicator table as CSV (UTF-8 with BOM)."""
    check_scope_visible(principal, scope)
    results = await reports.indicators(
        session, scope_code=scope, year=year, today=as_of or today_in_sichuan()
    )
    table = indicator_table(results)
    return download(csv_bytes(table), media_type=CSV, filename=f"{table.title}.csv")
