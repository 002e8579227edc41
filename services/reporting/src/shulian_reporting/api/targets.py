"""Targets: everyone who reads reports sees them; only the province sets them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shulian_common.deps import SessionDep, SettingsDep, UowFactoryDep
from shulian_common.errors import NotFoundError, ValidationFailedError, problem_responses
from shulian_common.http import Authenticated, IfMatch, expected_versions, record_response
from shulian_reporting import repository
from shulian_reporting.api.common import (
    PROVINCE,
    READER,
    ProvinceDep,
    ReaderDep,
    check_scope_visible,
)
from shulian_reporting.domain.indicators import BY_CODE
from shulian_reporting.handlers import targets
from shulian_reporting.schemas import TargetCreate, TargetRead, TargetUpdate

router = APIRouter(prefix="/v1/targets", tags=["targets"], dependencies=[Authenticated])


def _check_indicator(code: str) -> None:
    if code not in BY_CODE:
        raise ValidationFailedError(f"指标 {code} 不存在", code="unknown_indicator")


@router.get(
    "",
    response_model=list[TargetRead],
    responses=problem_responses(401, 403),
    dependencies=[READER],
)
async def list_targets(session: SessionDep) -> list[TargetRead]:
    """Every target, by indicator and scope."""
    return [TargetRead.model_validate(t) for t in await repository.all_targets(session)]


@router.get(
    "/{indicator}/{scope}", response_model=TargetRead, responses=problem_responses(401, 403, 404)
)
async def read_target(
    indicator: str, scope: str, principal: ReaderDep, session: SessionDep
) -> JSONResponse:
    """One target, with its ETag."""
    check_scope_visible(principal, scope)
    target = await repository.target_for(session, indicator, scope)
    if target is None:
        raise NotFoundError(f"指标 {indicator} 在 {scope} 没有目标值")
    return record_response(TargetRead.model_validate(target), version=target.version)


@router.post(
    "", status_code=201, response_model=TargetRead, responses=problem_responses(401, 403, 409, 422)
)
async def create_target(
    body: TargetCreate, principal: ProvinceDep, uow_factory: UowFactoryDep, settings: SettingsDep
) -> JSONResponse:
    """Set a target where none is (a region's or a city's); the province only."""
    _check_indicator(body.indicator)
    check_scope_visible(principal, body.scope_code)
    target = await targets.create_target(
        uow_factory,
        node_id=settings.node_id,
        indicator=body.indicator,
        scope_code=body.scope_code,
        value=body.value,
        note=body.note,
    )
    return record_response(TargetRead.model_validate(target), version=target.version, status=201)


@router.put(
    "/{indicator}/{scope}",
    response_model=TargetRead,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
    dependencies=[PROVINCE],
)
async def update_target(
    indicator: str,
    scope: str,
    body: TargetUpdate,
    uow_factory: UowFactoryDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change a target; needs `If-Match` with the ETag it was read at; the province only."""
    target = await targets.update_target(
        uow_factory,
        indicator=indicator,
        scope_code=scope,
        value=body.value,
        note=body.note,
        expected_version=expected_versions(if_match),
    )
    return record_response(TargetRead.model_validate(target), version=target.version)
