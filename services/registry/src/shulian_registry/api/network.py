"""Routes of the support network: parks, markets, stations, scenarios, pairings, platforms and
key enterprises — the same four routes for each, built from one table of kinds."""

# No ``from __future__ import annotations`` here: FastAPI must see the body models of each kind,
# which are closure variables of ``record_router``, as real classes in the signatures.

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shulian_common.deps import SessionDep, SettingsDep, UowFactoryDep, WriterDep
from shulian_common.errors import BadRequestError, problem_responses
from shulian_common.http import (
    Authenticated,
    IdempotencyDep,
    IfMatch,
    PageDep,
    created_response,
    expected_versions,
    record_response,
)
from shulian_common.records import load
from shulian_common.schemas import Page
from shulian_registry import handlers, repository, schemas


@dataclass(frozen=True)
class Resource:
    """One kind of network record as exposed over HTTP."""

    path: str
    tag: str
    kind: handlers.RecordKind[Any]
    create: type[BaseModel]
    update: Any
    read: type[BaseModel]
    # List filters this kind supports: query parameter → column (``city`` always works).
    filters: dict[str, str] = field(default_factory=dict)


_FILTER_DOC = "supported where the record has it (see the list route's description)"


def record_router(resource: Resource) -> APIRouter:
    """GET list, POST, GET one and PATCH for one kind of record."""
    router = APIRouter(
        prefix=f"/v1/{resource.path}", tags=[resource.tag], dependencies=[Authenticated]
    )
    record_kind, read = resource.kind, resource.read
    create_model, update_model = resource.create, resource.update

    label, tag = record_kind.label, resource.tag

    @router.post(
        "",
        status_code=201,
        response_model=read,
        responses=problem_responses(401, 403, 409, 422),
        summary=f"Record a {tag}",
        description=f"Record a {tag} ({label}): operators whose division holds it, on the "
        "owner node. `Idempotency-Key` makes retries safe.",
    )
    async def create(
        body: create_model,  # type: ignore[valid-type]
        principal: WriterDep,
        uow_factory: UowFactoryDep,
        settings: SettingsDep,
        idempotency: IdempotencyDep,
    ) -> JSONResponse:
        created = await handlers.create_record(
            uow_factory,
            record_kind,
            principal=principal,
            node_id=settings.node_id,
            fields=body.model_dump(),  # type: ignore[attr-defined]
            idempotency=idempotency,
        )
        row = created.record
        location = f"/v1/{resource.path}/{row.id}"
        return created_response(created, read.model_validate(row), location=location)

    @router.get(
        "",
        response_model=Page[read],  # type: ignore[valid-type]
        responses=problem_responses(400, 401),
        summary=f"List {resource.path}",
        description=f"List {resource.path} ({label}) in id order, by cursor. Filters: city"
        + "".join(f", {name}" for name in resource.filters)
        + "; several values of one filter are alternatives.",
    )
    async def list_records(
        session: SessionDep,
        page: PageDep,
        city: Annotated[list[schemas.DivisionCode], Query(description="city codes")] = [],  # noqa: B006
        county: Annotated[list[schemas.DivisionCode], Query(description=_FILTER_DOC)] = [],  # noqa: B006
        kind: Annotated[list[str], Query(description=_FILTER_DOC)] = [],  # noqa: B006
        level: Annotated[list[str], Query(description=_FILTER_DOC)] = [],  # noqa: B006
        supplier_id: Annotated[list[str], Query(description=_FILTER_DOC)] = [],  # noqa: B006
    ) -> Any:
        given = {"county": county, "kind": kind, "level": level, "supplier_id": supplier_id}
        filters = _filters(resource, given)
        filters["city_code"] = city
        rows = await repository.list_records(
            session, record_kind.model, filters=filters, after=page.after, limit=page.fetch
        )
        return page.build(rows, lambda row: read.model_validate(row))

    @router.get(
        "/{record_id}",
        response_model=read,
        responses=problem_responses(401, 404),
        summary=f"Read a {tag}",
        description=f"One {tag} ({label}), with its ETag.",
    )
    async def read_one(record_id: str, session: SessionDep) -> JSONResponse:
        row = await load(session, record_kind.model, record_id, label)
        return record_response(read.model_validate(row), version=row.version)

    @router.patch(
        "/{record_id}",
        response_model=read,
        responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
        summary=f"Change a {tag}",
        description=f"Change a {tag} ({label}): operators whose division holds it. Needs "
        "`If-Match` with the ETag the change is based on.",
    )
    async def update(
        record_id: str,
        body: update_model,  # type: ignore[valid-type]
        principal: WriterDep,
        uow_factory: UowFactoryDep,
        settings: SettingsDep,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        row = await handlers.update_record(
            uow_factory,
            record_kind,
            principal=principal,
            node_id=settings.node_id,
            record_id=record_id,
            expected_version=expected_versions(if_match),
            changes=body.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
        )
        return record_response(read.model_validate(row), version=row.version)

    return router


def _filters(resource: Resource, given: dict[str, list[str]]) -> dict[str, list[str]]:
    """Column filters from query parameters; a filter this kind lacks is a 400, not ignored."""
    unsupported = sorted(
        name for name, values in given.items() if values and name not in resource.filters
    )
    if unsupported:
        raise BadRequestError(
            f"{resource.path} 不支持按 {'、'.join(unsupported)} 筛选",
            code="unsupported_filter",
            extra={"filters": unsupported},
        )
    return {resource.filters[name]: values for name, values in given.items() if values}


RESOURCES = (
    Resource(
        "parks",
        "park",
        handlers.PARKS,
        schemas.ParkCreate,
        schemas.ParkUpdate,
        schemas.ParkRead,
        {"county": "county_code", "level": "level"},
    ),
    Resource(
        "markets",
        "market",
        handlers.MARKETS,
        schemas.MarketCreate,
        schemas.MarketUpdate,
        schemas.MarketRead,
        {"county": "county_code", "kind": "kind", "level": "level"},
    ),
    Resource(
        "stations",
        "station",
        handlers.STATIONS,
        schemas.StationCreate,
        schemas.StationUpdate,
        schemas.StationRead,
        {"county": "county_code", "kind": "kind", "supplier_id": "supplier_id"},
    ),
    Resource(
        "scenarios",
        "scenario",
        handlers.SCENARIOS,
        schemas.ScenarioCreate,
        schemas.ScenarioUpdate,
        schemas.ScenarioRead,
        {"county": "county_code", "kind": "host_kind", "supplier_id": "supplier_id"},
    ),
    Resource(
        "pairings",
        "pairing",
        handlers.PAIRINGS,
        schemas.PairingCreate,
        schemas.PairingUpdate,
        schemas.PairingRead,
        {"county": "division_code", "kind": "kind", "supplier_id": "supplier_id"},
    ),
    Resource(
        "platforms",
        "platform",
        handlers.PLATFORMS,
        schemas.PlatformCreate,
        schemas.PlatformUpdate,
        schemas.PlatformRead,
        {"county": "division_code", "kind": "kind", "supplier_id": "supplier_id"},
    ),
    Resource(
        "enterprises",
        "enterprise",
        handlers.ENTERPRISES,
        schemas.EnterpriseCreate,
        schemas.EnterpriseUpdate,
        schemas.EnterpriseRead,
        {"county": "county_code"},
    ),
)
