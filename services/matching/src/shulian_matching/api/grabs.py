"""Routes under ``/v1/grabs``: follow a grab, confirm an award."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

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
    """A grab: ``pending`` until the order's owner node decides, then its decision and reason."""
    grab = await repository.grab(session, grab_id)
    if grab is None:
        raise NotFoundError(f"抢单 {grab_id} 不存在", extra={"id": grab_id})
    return grab_read(grab)


@router.post(
    "/{grab_id}/confirm",
    status_code=202,
    response_model=GrabRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def confirm_grab(
    grab_id: str,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
) -> JSONResponse:
    """Confirm an award (the supplier itself); the owner node accepts it if still in time."""
    grab = await handlers.request_confirmation(
        uow_factory, node_id=settings.node_id, principal=principal, grab_id=grab_id
    )
    body = grab_read(grab).model_dump(mode="json")
    return JSONResponse(body, status_code=202, headers={"Location": f"/v1/grabs/{grab.id}"})
