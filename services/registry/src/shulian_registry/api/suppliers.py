"""Routes of the supplier directory: register, read, change, search; the listing workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Principal
from shulian_common.deps import (
    ConnectionDep,
    OperatorDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    UowFactoryDep,
    WriterDep,
)
from shulian_common.errors import NotFoundError, problem_responses
from shulian_common.http import (
    Authenticated,
    IdempotencyDep,
    IfMatch,
    PageDep,
    created_response,
    expected_versions,
    record_response,
)
from shulian_common.idempotency import Idempotency
from shulian_common.query import Cursor, Limit, QueryModel, page_of, query_model
from shulian_common.records import load
from shulian_common.reference import Region
from shulian_common.schemas import Page
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_registry import domain, handlers, orm, repository
from shulian_registry.domain import ListingAction, ListingStatus
from shulian_registry.schemas import (
    ConflictRead,
    DivisionCode,
    IndustryCode,
    ListingApplication,
    ListingDecisionIn,
    ListingRead,
    ServiceLineCode,
    SupplierCreate,
    SupplierRead,
    SupplierUpdate,
    supplier_fields,
)
from shulian_registry.terms import filter_groups, parse_query

router = APIRouter(prefix="/v1/suppliers", tags=["suppliers"], dependencies=[Authenticated])

_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 422, 428)
SupplierPage = Page[SupplierRead]
ConflictPage = Page[ConflictRead]


def _view(principal: Principal, row: orm.Supplier) -> SupplierRead:
    show = domain.may_see_contact(principal, row.id, row.county_code)
    return SupplierRead.from_row(row, show_contact=show)


def _fields(
    principal: Principal, row: Row[Any] | Mapping[str, Any], node_id: str
) -> dict[str, Any]:
    # A replicated entry has no contact to show (events carry none): it is always masked.
    # Read by key in C (getattr on a Row costs several times more).
    columns = row._mapping if isinstance(row, Row) else row
    own = columns["owner_node"] == node_id
    show = own and domain.may_see_contact(principal, columns["id"], columns["county_code"])
    return supplier_fields(columns, show_contact=show)


@router.post(
    "",
    status_code=201,
    response_model=SupplierRead,
    responses=problem_responses(401, 403, 409, 422),
)
async def register_supplier(
    body: SupplierCreate,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Register a supplier (operators whose division holds its county, on the owner node)."""
    created = await handlers.register_supplier(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        fields=body.model_dump(),
        idempotency=idempotency,
    )
    row = created.record
    return created_response(created, _view(principal, row), location=f"/v1/suppliers/{row.id}")


class SupplierSearch(QueryModel):
    """The search's query string, validated in one pass (``query_model``)."""

    q: Annotated[
        str | None,
        Field(max_length=100, description="free Chinese text, e.g. `猎头` or `宜宾 动力电池`"),
    ] = None
    city: Annotated[list[DivisionCode], Field(description="city codes, e.g. 511500")] = []  # noqa: RUF012
    county: Annotated[list[DivisionCode], Field(description="county codes")] = []  # noqa: RUF012
    region: list[Region] = []  # noqa: RUF012
    industry: list[IndustryCode] = []  # noqa: RUF012
    service_line: list[ServiceLineCode] = []  # noqa: RUF012
    status: Annotated[list[ListingStatus], Field(description="listing status")] = []  # noqa: RUF012
    node: Annotated[
        list[DivisionCode],
        Field(description="owner node codes, e.g. 511500 (default: every node)"),
    ] = []  # noqa: RUF012
    high_end: bool | None = None
    cursor: Cursor = None
    limit: Limit = None


SearchDep = Annotated[SupplierSearch, Depends(query_model(SupplierSearch))]


@router.get("", response_model=SupplierPage, responses=problem_responses(400, 401, 422))
# Returns the page as JSON bytes built from the rows (``PageParams.response``): no model per
# row, no validation; ``SupplierPage`` documents it, and the API tests hold the body to it.
async def search_suppliers(
    principal: PrincipalDep, connection: ConnectionDep, settings: SettingsDep, search: SearchDep
) -> Response:
    """Search the province's directory (this node's suppliers and those replicated from every
    other node, each with its ``owner_node``); filters of different kinds all apply, values of
    one kind are alternatives. Ordered by registration (id), paged by cursor."""
    page = page_of(search, settings)
    text = parse_query(search.q or "")
    groups = filter_groups(
        city=search.city,
        county=search.county,
        region=search.region,
        industry=search.industry,
        service_line=search.service_line,
        status=search.status,
        high_end=search.high_end,
        node=search.node,
    )
    rows = await repository.search_suppliers(
        connection,
        groups=[*groups, *text.groups],
        name_fragments=text.name_fragments,
        after=page.after,
        limit=page.fetch,
    )
    return page.response(rows, lambda row: _fields(principal, row, settings.node_id))


@router.get(
    "/conflicts", response_model=ConflictPage, responses=problem_responses(400, 401, 403, 422)
)
async def list_conflicts(
    _operator: OperatorDep, session: SessionDep, page: PageDep
) -> ConflictPage:
    """USCCs registered on two nodes at once, as this node detected them (operators): which
    record keeps the USCC and which duplicate its owner node must resolve."""
    rows = await repository.list_conflicts(session, after=page.after, limit=page.fetch)
    shown, next_cursor = page.split(rows)
    return ConflictPage(
        items=[ConflictRead.model_validate(row) for row in shown], next_cursor=next_cursor
    )


@router.get("/{supplier_id}", response_model=SupplierRead, responses=problem_responses(401, 404))
async def read_supplier(
    supplier_id: str, principal: PrincipalDep, connection: ConnectionDep, settings: SettingsDep
) -> JSONResponse:
    """One supplier of the province, held here or replicated from its owner node; contact
    details unmasked only for itself and operators who may write it, on its owner node."""
    row = await repository.directory_entry(connection, supplier_id)
    if row is None:
        raise NotFoundError(f"供应商 {supplier_id} 不存在", extra={"id": supplier_id})
    view = SupplierRead.model_validate(_fields(principal, row, settings.node_id))
    return record_response(view, version=row.version)


@router.patch("/{supplier_id}", response_model=SupplierRead, responses=_WRITE_ERRORS)
async def update_supplier(
    supplier_id: str,
    body: SupplierUpdate,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change a supplier's profile: the supplier itself, or operators of its county. Needs
    ``If-Match`` with the ETag the change is based on."""
    row = await handlers.update_supplier(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        supplier_id=supplier_id,
        expected_version=expected_versions(if_match),
        changes=_changes(body),
    )
    return record_response(_view(principal, row), version=row.version)


def _changes(body: Any) -> dict[str, Any]:
    """The fields a PATCH sets. ``contact`` keeps only the members sent (a merge patch); each
    figure is whole, with its defaults, since a figure is replaced, never merged."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if changes.get("figures") is not None:
        changes["figures"] = [figure.model_dump() for figure in body.figures]
    return changes


# --- listing --------------------------------------------------------------------------------


async def _listing(session: AsyncSession, row: orm.Supplier) -> ListingRead:
    return ListingRead.from_rows(row, await repository.listing_history(session, row.id))


@router.get(
    "/{supplier_id}/listing",
    response_model=ListingRead,
    tags=["listing"],
    responses=problem_responses(401, 404),
)
async def read_listing(supplier_id: str, session: SessionDep) -> JSONResponse:
    """A supplier's key-directory listing: status, industries, fields and full history."""
    row = await load(session, orm.Supplier, supplier_id, "供应商")
    return record_response(await _listing(session, row), version=row.version)


async def _step(
    *,
    supplier_id: str,
    change: handlers.ListingChange,
    principal: Principal,
    uow_factory: UnitOfWorkFactory,
    session: AsyncSession,
    settings: Settings,
    if_match: str | None,
    idempotency: Idempotency | None,
) -> JSONResponse:
    created = await handlers.change_listing(
        uow_factory,
        principal=principal,
        node_id=settings.node_id,
        supplier_id=supplier_id,
        change=change,
        expected_version=expected_versions(if_match) if if_match is not None else None,
        idempotency=idempotency,
    )
    # Read after the handler's commit, so the history includes the step just taken.
    listing = await _listing(session, created.record)
    return created_response(created, listing, location=f"/v1/suppliers/{supplier_id}/listing")


@router.post(
    "/{supplier_id}/listing",
    status_code=201,
    response_model=ListingRead,
    tags=["listing"],
    responses=_WRITE_ERRORS,
)
async def apply_for_listing(
    supplier_id: str,
    body: ListingApplication,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    session: SessionDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Apply for the key directory in chosen industries and fields (the supplier itself or
    operators of its county). ``If-Match`` is optional here."""
    change = handlers.ListingChange(
        action=ListingAction.APPLY,
        reason=body.reason,
        industries=tuple(body.industries),
        fields=tuple(body.fields),
    )
    return await _step(
        supplier_id=supplier_id,
        change=change,
        principal=principal,
        uow_factory=uow_factory,
        session=session,
        settings=settings,
        if_match=if_match,
        idempotency=idempotency,
    )


@router.post(
    "/{supplier_id}/listing/decisions",
    status_code=201,
    response_model=ListingRead,
    tags=["listing"],
    responses=_WRITE_ERRORS,
)
async def decide_listing(
    supplier_id: str,
    body: ListingDecisionIn,
    principal: WriterDep,
    uow_factory: UowFactoryDep,
    session: SessionDep,
    settings: SettingsDep,
    idempotency: IdempotencyDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Review, approve, reject, suspend, reinstate or delist (city operators of the owner node,
    or the province); reject, suspend and delist need a reason."""
    change = handlers.ListingChange(action=body.action, reason=body.reason)
    return await _step(
        supplier_id=supplier_id,
        change=change,
        principal=principal,
        uow_factory=uow_factory,
        session=session,
        settings=settings,
        if_match=if_match,
        idempotency=idempotency,
    )
