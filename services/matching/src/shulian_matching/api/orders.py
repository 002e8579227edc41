"""Routes under ``/v1/orders``: place, list, read, edit, move, grab, rank, apply."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StringConstraints

from shulian_common.commands import RequestRead, accepted_response
from shulian_common.deps import ConnectionDep, SessionDep, SettingsDep, UowFactoryDep, WriterDep
from shulian_common.errors import problem_responses
from shulian_common.http import (
    Authenticated,
    IdempotencyDep,
    IfMatch,
    PageDep,
    created_response,
    expected_versions,
    record_response,
)
from shulian_common.idempotency import Created
from shulian_common.query import Cursor, Limit, QueryModel, page_of, query_model
from shulian_common.records import load
from shulian_common.schemas import Page
from shulian_matching import repository
from shulian_matching.api.common import (
    MatchingSettingsDep,
    application_read,
    grab_read,
    talent_read,
)
from shulian_matching.domain import access
from shulian_matching.domain.orders import OrderAction, OrderKind, OrderStatus
from shulian_matching.handlers import grabs as grab_handlers
from shulian_matching.handlers import orders as handlers
from shulian_matching.handlers import ranking
from shulian_matching.handlers import talents as talent_handlers
from shulian_matching.orm import Order
from shulian_matching.schemas import (
    ApplicationAnswer,
    ApplicationRead,
    CandidateRead,
    CandidatesRead,
    FulfilBody,
    GrabRead,
    OrderCreate,
    OrderRead,
    OrderUpdate,
    TermRead,
)

router = APIRouter(prefix="/v1/orders", tags=["orders"], dependencies=[Authenticated])
LABEL = "订单"


def _order(order: Order) -> JSONResponse:
    return record_response(OrderRead.model_validate(order), version=order.version)


@router.post(
    "", status_code=201, response_model=OrderRead, responses=problem_responses(401, 403, 422)
)
async def place_order(
    body: OrderCreate,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Place an order (an enterprise, or an operator over the county); ``Idempotency-Key``
    makes retries safe."""
    created = await handlers.place_order(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        fields=body.model_dump(),
        idempotency=idempotency,
    )
    order = created.record
    return created_response(
        created, OrderRead.model_validate(order), location=f"/v1/orders/{order.id}"
    )


CityCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


class OrderQuery(QueryModel):
    """The list's filters and page, from the query string, validated in one pass."""

    status: list[OrderStatus] | None = None
    kind: list[OrderKind] | None = None
    city: list[CityCode] | None = Field(
        default=None, description="the orders' cities (GB/T 2260), as registry and events name it"
    )
    city_code: list[CityCode] | None = Field(
        default=None, description="the former name of `city`, still accepted"
    )
    owner_node: list[str] | None = None
    cursor: Cursor = None
    limit: Limit = None


OrderQueryDep = Annotated[OrderQuery, Depends(query_model(OrderQuery))]


@router.get("", response_model=Page[OrderRead], responses=problem_responses(400, 401))
async def list_orders(
    connection: ConnectionDep, settings: SettingsDep, query: OrderQueryDep
) -> Response:
    """Every order this node knows, its own and the other nodes', in id order, by cursor."""
    page = page_of(query, settings)
    filters = {
        "status": [str(s) for s in query.status or []],
        "kind": [str(k) for k in query.kind or []],
        "city_code": [*(query.city or []), *(query.city_code or [])],
        "owner_node": query.owner_node or [],
    }
    rows = await repository.order_rows(
        connection, filters=filters, after=page.after, limit=page.fetch
    )
    # JSON bytes straight from the rows (no model per order); the tests hold them to OrderRead.
    return page.plain_response(rows, OrderRead)


@router.get("/{order_id}", response_model=OrderRead, responses=problem_responses(401, 404))
async def read_order(order_id: str, session: SessionDep) -> JSONResponse:
    """One order, with its ETag."""
    return _order(await load(session, Order, order_id, LABEL))


@router.patch(
    "/{order_id}", response_model=OrderRead, responses=problem_responses(403, 404, 409, 412, 428)
)
async def edit_order(
    order_id: str,
    body: OrderUpdate,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change an open order (needs ``If-Match``); changing its terms voids grabs made on the
    old terms (undecided, unconfirmed and standby ones)."""
    order = await handlers.edit_order(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        order_id=order_id,
        expected_version=expected_versions(if_match),
        changes=body.model_dump(exclude_unset=True),
    )
    return _order(order)


async def _move(
    action: OrderAction,
    order_id: str,
    principal: Any,
    uow_factory: Any,
    settings: Any,
    if_match: str | None,
) -> JSONResponse:
    order = await handlers.move_order(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        order_id=order_id,
        expected_version=expected_versions(if_match),
        action=action,
    )
    return _order(order)


@router.post(
    "/{order_id}/start",
    response_model=OrderRead,
    responses=problem_responses(403, 404, 409, 412, 428),
)
async def start_service(
    order_id: str,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Start service on an awarded order (needs ``If-Match``)."""
    return await _move(
        OrderAction.START_SERVICE, order_id, principal, uow_factory, settings, if_match
    )


@router.post(
    "/{order_id}/cancel",
    response_model=OrderRead,
    responses=problem_responses(403, 404, 409, 412, 428),
)
async def cancel_order(
    order_id: str,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Cancel an order not yet in service (needs ``If-Match``)."""
    return await _move(OrderAction.CANCEL, order_id, principal, uow_factory, settings, if_match)


@router.post(
    "/{order_id}/fulfil",
    response_model=OrderRead,
    responses=problem_responses(403, 404, 409, 412, 428),
)
async def fulfil_order(
    order_id: str,
    body: FulfilBody,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Close an order in service with its placements and contract value (the trade volume
    reporting sums)."""
    order = await handlers.fulfil_order(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        order_id=order_id,
        expected_version=expected_versions(if_match),
        placements=body.placements,
        contract_value_yuan=body.contract_value_yuan,
    )
    return _order(order)


@router.post(
    "/{order_id}/grabs",
    status_code=202,
    response_model=RequestRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def grab_order(
    order_id: str,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Grab a service order (企业抢单) as the calling supplier: 202 with the grab's request, to
    follow at ``Location``; the order's owner node decides, in the order grabs reach it.
    ``Idempotency-Key`` makes a retry return the first grab."""
    created = await grab_handlers.request_grab(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        order_id=order_id,
        idempotency=idempotency,
    )
    return accepted_response(created, location=f"/v1/grabs/{created.record.id}")


@router.get(
    "/{order_id}/grabs", response_model=Page[GrabRead], responses=problem_responses(400, 401)
)
async def list_grabs(order_id: str, session: SessionDep, page: PageDep) -> Page[GrabRead]:
    """The order's grabs this node knows (all of them on the owner node), by cursor."""
    rows = await repository.page_grabs(
        session, order_id=order_id, after=page.after, limit=page.fetch
    )
    shown, next_cursor = page.split(rows)
    return Page[GrabRead](items=[grab_read(g) for g in shown], next_cursor=next_cursor)


@router.get(
    "/{order_id}/candidates", response_model=CandidatesRead, responses=problem_responses(401, 404)
)
async def rank_candidates(
    order_id: str,
    session: SessionDep,
    settings: MatchingSettingsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CandidatesRead:
    """Eligible suppliers (service orders) or talents (job orders), best first, each with its
    score explained: every term's weight, fit and points; what matched and what is missing."""
    order = await load(session, Order, order_id, LABEL)
    eligible, weights, best = await ranking.candidates(
        session, order=order, award_cap=settings.award_cap, limit=limit
    )
    items = [
        CandidateRead(
            id=r.id,
            name=name,
            city_code=city,
            score=r.score,
            matched=r.matched,
            missing=r.missing,
            terms=[
                TermRead(term=t.term, label=t.label, weight=t.weight, fit=t.fit, points=t.points)
                for t in r.terms
            ],
        )
        for r, name, city in best
    ]
    return CandidatesRead(
        order_id=order.id,
        kind=OrderKind(order.kind),
        eligible=eligible,
        weights=weights,
        items=items,
    )


@router.post(
    "/{order_id}/applications",
    status_code=201,
    response_model=ApplicationRead,
    responses={
        202: {
            "model": RequestRead,
            "description": "另一节点的订单：报名已发往订单所属节点受理 (follow Location)",
        },
        **problem_responses(401, 403, 404, 409),
    },
)
async def apply(
    order_id: str,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Apply to a job order (人才接单) as the calling talent: 201 with the application for an order
    of this node; for another node's order, 202 with the request and ``Location:
    /v1/applications/{id}`` (the owner node receives it; only a pseudonymous reference and the
    occupation, skills and county travel). ``Idempotency-Key`` makes a retry return the first."""
    made = await talent_handlers.apply(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        order_id=order_id,
        idempotency=idempotency,
    )
    if isinstance(made, Created):
        return accepted_response(made, location=f"/v1/applications/{made.record.id}")
    return record_response(application_read(made), version=made.version, status=201)


@router.get(
    "/{order_id}/applications",
    response_model=Page[ApplicationRead],
    responses=problem_responses(400, 401, 403, 404),
)
async def list_applications(
    order_id: str, principal: WriterDep, session: SessionDep, page: PageDep
) -> Page[ApplicationRead]:
    """The order's applications for its placer, each talent's personal data masked."""
    order = await load(session, Order, order_id, LABEL)
    access.ensure_may_manage(
        principal,
        placer_kind=order.placer_kind,
        placed_by=order.placed_by,
        county_code=order.county_code,
    )
    rows = await repository.applications_of(session, order_id, after=page.after, limit=page.fetch)
    shown, next_cursor = page.split(rows)
    talents = {t.id: t for t in await repository.talents_for(session, [a.talent_id for a in shown])}
    items = []
    for app in shown:
        item = application_read(app)
        if app.talent_id in talents:  # a profile held here; another node's talent has none here
            item.talent = talent_read(talents[app.talent_id], to_talent=False)
        items.append(item)
    return Page[ApplicationRead](items=items, next_cursor=next_cursor)


@router.post(
    "/{order_id}/applications/{application_id}/decision",
    response_model=ApplicationRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def answer_application(
    order_id: str,
    application_id: str,
    body: ApplicationAnswer,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: MatchingSettingsDep,
) -> JSONResponse:
    """Accept or decline an application; accepting past the head count is refused (409)."""
    app = await talent_handlers.answer_application(
        uow_factory,
        node_id=settings.node_id,
        principal=principal,
        order_id=order_id,
        application_id=application_id,
        accept=body.accept,
    )
    return record_response(application_read(app), version=app.version)
