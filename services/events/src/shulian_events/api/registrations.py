"""Routes of registrations: request a place (202: the owner node decides), follow the request,
list an activity's registrations, approve or reject, cancel, check in."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shulian_common.auth import Principal, Role
from shulian_common.commands import load_request
from shulian_common.deps import PrincipalDep, SessionDep, SettingsDep, UowFactoryDep, WriterDep
from shulian_common.errors import problem_responses
from shulian_common.http import IDEMPOTENT_REPLAYED, Authenticated, IdempotencyDep
from shulian_common.records import load
from shulian_events import repository
from shulian_events.api.views import registration_view, request_view, requested_view
from shulian_events.domain import access
from shulian_events.domain.errors import NotSelf
from shulian_events.domain.terms import ParticipantKind
from shulian_events.handlers import registrations as handlers
from shulian_events.orm import Activity, Registration
from shulian_events.schemas import CheckInIn, RegistrationCreate, RegistrationRead

router = APIRouter(tags=["registrations"], dependencies=[Authenticated])
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


@router.post(
    "/v1/activities/{activity_id}/registrations",
    status_code=202,
    response_model=RegistrationRead,
    responses=_WRITE_ERRORS,
)
async def request_registration(
    activity_id: str,
    body: RegistrationCreate,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Ask for a place for a supplier or enterprise: ``202`` with the registration id, followed
    at ``Location``. The activity's owner node decides, in the order requests reach it from every
    node; ``Idempotency-Key`` makes retries safe."""
    access.ensure_may_register(principal, body.participant_kind, body.participant_id)
    ask = handlers.RegistrationAsk(
        occurrence_key=body.occurrence_key,
        participant_kind=str(body.participant_kind),
        participant_id=body.participant_id,
        hr_managers=body.hr_managers,
    )
    created = await handlers.request_registration(
        uow_factory,
        node_id=settings.node_id,
        activity_id=activity_id,
        request=ask,
        requester_sub=principal.sub,
        idempotency=idempotency,
    )
    view = requested_view(created.record, ask, requester_node=settings.node_id)
    headers = {"Location": f"/v1/registrations/{view.id}"}
    if created.replayed:
        headers[IDEMPOTENT_REPLAYED] = "true"
    return JSONResponse(view.model_dump(mode="json"), status_code=202, headers=headers)


def _may_see(principal: Principal, row: Registration) -> bool:
    if principal.role is Role.SUPPLIER:
        return row.participant_kind == ParticipantKind.SUPPLIER and (
            row.participant_id == principal.supplier_id
        )
    if principal.role is Role.ENTERPRISE:
        return row.participant_kind == ParticipantKind.ENTERPRISE and (
            row.participant_id == principal.enterprise_id
        )
    return True


@router.get(
    "/v1/registrations/{registration_id}",
    response_model=RegistrationRead,
    responses=problem_responses(401, 403, 404),
)
async def read_registration(
    registration_id: str, principal: PrincipalDep, session: SessionDep, settings: SettingsDep
) -> RegistrationRead:
    """A registration as this node knows it: decided by the owner node, or still on its way."""
    row = await session.get(Registration, registration_id)
    if row is None:
        # Not decided yet (or refused before any registration existed): the request's state.
        request = await load_request(
            session, registration_id, kind=handlers.REQUEST_KIND, label=handlers.LABEL
        )
        if principal.is_operator or principal.sub == request.requester_sub:
            return request_view(request, requester_node=settings.node_id)
        raise NotSelf("只能查看本单位的报名")
    if not _may_see(principal, row):
        raise NotSelf("只能查看本单位的报名")
    return registration_view(row)


@router.get(
    "/v1/activities/{activity_id}/registrations",
    response_model=list[RegistrationRead],
    responses=problem_responses(401, 404),
)
async def list_registrations(
    activity_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    occurrence_key: str | None = None,
) -> list[RegistrationRead]:
    """An activity's registrations in decision order (a supplier or enterprise sees its own)."""
    await load(session, Activity, activity_id, "活动")
    rows = await repository.registrations_of(session, activity_id, occurrence_key)
    return [registration_view(r) for r in rows if _may_see(principal, r)]


@router.post(
    "/v1/registrations/{registration_id}/approve",
    response_model=RegistrationRead,
    responses=_WRITE_ERRORS,
)
async def approve_registration(
    registration_id: str, principal: WriterDep, uow_factory: UowFactoryDep, settings: SettingsDep
) -> RegistrationRead:
    """Approve a pending registration: a place if one is left, else the waiting list."""
    row = await handlers.review(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        registration_id=registration_id,
        approve=True,
    )
    return registration_view(row)


@router.post(
    "/v1/registrations/{registration_id}/reject",
    response_model=RegistrationRead,
    responses=_WRITE_ERRORS,
)
async def reject_registration(
    registration_id: str, principal: WriterDep, uow_factory: UowFactoryDep, settings: SettingsDep
) -> RegistrationRead:
    """Reject a pending or waiting registration."""
    row = await handlers.review(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        registration_id=registration_id,
        approve=False,
    )
    return registration_view(row)


@router.post(
    "/v1/registrations/{registration_id}/cancel",
    response_model=RegistrationRead,
    responses=_WRITE_ERRORS,
)
async def cancel_registration(
    registration_id: str, principal: WriterDep, uow_factory: UowFactoryDep, settings: SettingsDep
) -> RegistrationRead:
    """Withdraw; the first on the waiting list takes the place."""
    row = await handlers.cancel(
        uow_factory, principal=principal, node_id=settings.node_id, registration_id=registration_id
    )
    return registration_view(row)


@router.post(
    "/v1/registrations/{registration_id}/check-in",
    response_model=RegistrationRead,
    responses=_WRITE_ERRORS,
)
async def check_in(
    registration_id: str,
    body: CheckInIn,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
) -> RegistrationRead:
    """Check a confirmed participant in on the day, with its HR managers present."""
    row = await handlers.check_in(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        registration_id=registration_id,
        attendees=body.attendees,
    )
    return registration_view(row)
