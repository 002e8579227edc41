"""Warnings (急需紧缺预警 and pace warnings) and their rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import Field

from shulian_common.deps import ConnectionDep, SessionDep, SettingsDep, UowFactoryDep
from shulian_common.errors import problem_responses
from shulian_common.http import Authenticated, json_response
from shulian_common.query import QueryModel, query_model
from shulian_common.reference import PROVINCE_CODE
from shulian_common.schemas import plain_rows
from shulian_reporting import repository
from shulian_reporting.api.common import (
    PROVINCE,
    READER,
    AsOf,
    ReaderDep,
    Year,
    own_city,
    today_in_sichuan,
)
from shulian_reporting.consumers import SOURCES
from shulian_reporting.domain.warnings import runnable
from shulian_reporting.handlers.warnings import as_rule, evaluate_warnings
from shulian_reporting.schemas import EvaluationRead, RuleRead, WarningRead

router = APIRouter(prefix="/v1", tags=["warnings"], dependencies=[Authenticated])


class WarningQuery(QueryModel):
    """The list's query string, validated in one pass (``query_model``)."""

    include_cleared: Annotated[bool, Field(description="cleared warnings too")] = False


WarningQueryDep = Annotated[WarningQuery, Depends(query_model(WarningQuery))]


@router.get("/warnings", response_model=list[WarningRead], responses=problem_responses(401, 403))
async def list_warnings(
    principal: ReaderDep, connection: ConnectionDep, query: WarningQueryDep
) -> Response:
    """Warnings, newest first: the province sees all, a city its own and the province's."""
    city = own_city(principal)
    scopes = None if principal.division == PROVINCE_CODE else [PROVINCE_CODE, city or ""]
    rows = await repository.list_warnings(
        connection, include_cleared=query.include_cleared, scopes=scopes
    )
    # JSON bytes straight from the rows (no model per warning); the tests hold them to
    # WarningRead.
    return json_response(plain_rows(WarningRead, rows))


@router.get(
    "/warning-rules",
    response_model=list[RuleRead],
    responses=problem_responses(401, 403),
    dependencies=[READER],
)
async def list_rules(session: SessionDep) -> list[RuleRead]:
    """The warning rules (data) and whether each can be evaluated on this build."""
    found = []
    for row in await repository.warning_rules(session):
        evaluated = runnable(as_rule(row), SOURCES)
        found.append(
            RuleRead(
                code=row.code,
                kind=row.kind,
                indicator=row.indicator,
                threshold=row.threshold,
                enabled=row.enabled,
                name=row.name,
                evaluated=evaluated,
                note=None if evaluated else "暂无数据来源：所需数据流尚未由任何服务产生",
            )
        )
    return found


@router.post(
    "/warnings/evaluate",
    response_model=EvaluationRead,
    responses=problem_responses(401, 403),
    dependencies=[PROVINCE],
)
async def evaluate(
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    year: Year,
    as_of: AsOf = None,
) -> EvaluationRead:
    """Evaluate the rules now (they also run every `warning_interval_s`); the province only."""
    result = await evaluate_warnings(
        uow_factory, node_id=settings.node_id, year=year, today=as_of or today_in_sichuan()
    )
    return EvaluationRead(
        raised=[WarningRead.model_validate(w) for w in result.raised],
        cleared=[WarningRead.model_validate(w) for w in result.cleared],
    )
