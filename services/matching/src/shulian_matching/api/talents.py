"""Routes under ``/v1/talents``: a talent's own profile; operators see others masked."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shulian_common.deps import SessionDep, UowFactoryDep, WriterDep
from shulian_common.errors import ForbiddenError, problem_responses
from shulian_common.http import Authenticated, IfMatch, expected_versions, record_response
from shulian_common.records import load
from shulian_matching.api.common import MatchingSettingsDep, talent_read
from shulian_matching.handlers import talents as handlers
from shulian_matching.orm import Talent
from shulian_matching.schemas import TalentRead, TalentWrite

router = APIRouter(prefix="/v1/talents", tags=["talents"], dependencies=[Authenticated])


@router.put("/me", response_model=TalentRead, responses=problem_responses(401, 403, 412, 422, 428))
async def save_my_profile(
    body: TalentWrite,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Create the calling talent's profile (201), or replace it (200, needs ``If-Match``)."""
    talent, created = await handlers.save_profile(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        fields=body.model_dump(),
        expected_version="missing" if if_match is None else expected_versions(if_match),
    )
    return record_response(
        talent_read(talent, to_talent=True), version=talent.version, status=201 if created else 200
    )


@router.get("/me", response_model=TalentRead, responses=problem_responses(401, 403, 404))
async def read_my_profile(principal: WriterDep, uow_factory: UowFactoryDep) -> JSONResponse:
    """The calling talent's profile, personal data in full."""
    talent = await handlers.my_profile(uow_factory, principal=principal)
    return record_response(talent_read(talent, to_talent=True), version=talent.version)


@router.get("/{talent_id}", response_model=TalentRead, responses=problem_responses(401, 403, 404))
async def read_talent(talent_id: str, principal: WriterDep, session: SessionDep) -> JSONResponse:
    """A talent's profile for operators, personal data masked."""
    if not principal.is_operator:
        raise ForbiddenError("只有人社部门可以查看人才档案", code="role_not_allowed")
    talent = await load(session, Talent, talent_id, "人才档案")
    return record_response(talent_read(talent, to_talent=False), version=talent.version)
