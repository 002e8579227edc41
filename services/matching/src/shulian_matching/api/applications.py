"""Routes under ``/v1/applications``: a talent follows an application (one sent to another node's
order says ``pending`` until that node received it)."""

from __future__ import annotations

from fastapi import APIRouter

from shulian_common.auth import Role
from shulian_common.commands import Request, request_read
from shulian_common.deps import SessionDep, WriterDep
from shulian_common.errors import ForbiddenError, problem_responses
from shulian_common.http import Authenticated
from shulian_common.records import load
from shulian_matching import repository
from shulian_matching.api.common import application_read
from shulian_matching.orm import Application
from shulian_matching.schemas import ApplicationFollow

router = APIRouter(prefix="/v1/applications", tags=["talents"], dependencies=[Authenticated])


@router.get(
    "/{application_id}",
    response_model=ApplicationFollow,
    responses=problem_responses(401, 403, 404),
)
async def read_application(
    application_id: str, principal: WriterDep, session: SessionDep
) -> ApplicationFollow:
    """An application as its talent (or an operator) sees it: ``pending`` until the order's owner
    node received it (with the request's age and ``overdue``), then ``applied`` or ``rejected``
    with the reason, then ``accepted`` or ``declined`` by the placer."""
    app = await load(session, Application, application_id, "报名")
    if principal.role is Role.TALENT:
        talent = await repository.talent_by_account(session, principal.sub)
        if talent is None or talent.id != app.talent_id:
            raise ForbiddenError("只能查看本人的报名", code="role_not_allowed")
    elif not principal.is_operator:
        raise ForbiddenError("只有报名人才和人社部门可以查看报名", code="role_not_allowed")
    read = ApplicationFollow(**application_read(app).model_dump())
    request = await session.get(Request, application_id)
    if request is not None:
        shown = request_read(request)
        read.age_seconds, read.overdue = shown.age_seconds, shown.overdue
    return read
