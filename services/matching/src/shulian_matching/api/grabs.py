"""Routes under ``/v1/grabs``: follow a grab, confirm an award."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shulian_common.commands import Request, RequestRead, accepted_response, request_read
from shulian_common.deps import SessionDep, UowFactoryDep, WriterDep
from shulian_common.errors import NotFoundError, problem_responses
from shulian_common.http import Authenticated
from shulian_matching import repository
from shulian_matching.api.common import MatchingSettingsDep, grab_read
from shulian_matching.handlers import grabs as handlers
from shulian_matching.schemas import GrabRead

router = APIRouter(prefix="/v1/grabs", tags=["grabs"], dependencies=[Authenticated])


@router.get("/{grab_id}", response_model=GrabRead, responses=problem_responses(401, 404))
async def read_grab(grab_id: str, session: SessionDep) -> GrabRead:
    """A grab: ``pending`` until the order's owner node decides (with its age, and ``overdue``
    when the owner is slow), then its decision and reason."""
    grab = await repository.grab(session, grab_id)
    if grab is None:
        raise NotFoundError(f"抢单 {grab_id} 不存在", extra={"id": grab_id})
    read = grab_read(grab)
    request = await session.get(Request, grab_id)
    if request is not None:
        shown = request_read(request)
        read.age_seconds, read.overdue = shown.age_seconds, shown.overdue
    return read


@router.post(
    "/{grab_id}/confirm",
    status_code=202,
    response_model=RequestRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def confirm_grab(
    grab_id: str,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
) -> JSONResponse:
    """Confirm an award (the supplier itself): 202 with the confirmation request; the owner node
    accepts it if still in time, and the grab at ``Location`` then says ``confirmed``."""
    created = await handlers.request_confirmation(
        uow_factory, node_id=settings.node_id, principal=principal, grab_id=grab_id
    )
    return accepted_response(created, location=f"/v1/grabs/{grab_id}")
