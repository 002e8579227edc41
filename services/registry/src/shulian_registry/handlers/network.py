"""Commands on the support network: one generic create and update, a table of kinds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Principal
from shulian_common.catalogue import EventModel
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import (
    R,
    Record,
    Versions,
    add,
    changed_fields,
    check_version,
    exists_with_id,
    flush_update,
    load,
    unchanged,
    utc_now,
)
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_registry import contracts, domain, orm, repository
from shulian_registry.handlers.common import authorise_place, place

Check = Callable[[AsyncSession, Any], Awaitable[None]]


async def _no_check(_session: AsyncSession, _row: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RecordKind(Generic[R]):
    """How one kind of network record is written: table, events, placing field and checks."""

    model: type[R]
    label: str
    created: type[EventModel]
    updated: type[EventModel]
    division_field: str = "county_code"
    county_only: bool = True
    check: Check = _no_check


async def _supplier_exists(session: AsyncSession, supplier_id: str | None) -> None:
    # Held here, or owned by another node and known from its replica.
    if supplier_id is not None and not await repository.supplier_known(session, supplier_id):
        raise domain.UnknownReference(
            f"供应商 {supplier_id} 不存在", extra={"supplier_id": supplier_id}
        )


async def _check_station(session: AsyncSession, row: orm.Station) -> None:
    kind = domain.StationKind(row.kind)
    domain.check_station_place(kind, row.county_code)
    if kind is domain.StationKind.SHARING_STATION and await repository.sharing_station_in(
        session, row.county_code, other_than=row.id
    ):
        raise domain.SharingStationExists(f"{row.county_code} 已设立共享站（一县一站）")
    await _supplier_exists(session, row.supplier_id)


async def _check_scenario(session: AsyncSession, row: orm.Scenario) -> None:
    await _supplier_exists(session, row.supplier_id)
    if row.enterprise_id is not None and not await exists_with_id(
        session, orm.Enterprise, row.enterprise_id
    ):
        raise domain.UnknownReference(
            f"企业 {row.enterprise_id} 不存在", extra={"enterprise_id": row.enterprise_id}
        )


async def _check_pairing(session: AsyncSession, row: orm.Pairing) -> None:
    domain.check_pairing(
        domain.PairingKind(row.kind),
        supplier_id=row.supplier_id,
        division_code=row.division_code,
        area_kinds=row.area_kinds,
        hr_association=row.hr_association,
        industry_association=row.industry_association,
    )
    await _supplier_exists(session, row.supplier_id)


async def _check_platform(session: AsyncSession, row: orm.Platform) -> None:
    domain.check_platform_operator(domain.PlatformOperator(row.operator_kind), row.supplier_id)
    await _supplier_exists(session, row.supplier_id)


async def _check_enterprise(session: AsyncSession, row: orm.Enterprise) -> None:
    row.uscc = domain.check_uscc(row.uscc)
    other = await repository.enterprise_by_uscc(session, row.uscc)
    if other is not None and other.id != row.id:
        raise domain.DuplicateUSCC(f"统一社会信用代码 {row.uscc} 已登记", extra={"uscc": row.uscc})


PARKS = RecordKind(orm.Park, "产业园", contracts.ParkCreated, contracts.ParkUpdated)
MARKETS = RecordKind(orm.Market, "人力资源市场", contracts.MarketCreated, contracts.MarketUpdated)
STATIONS = RecordKind(
    orm.Station, "站点", contracts.StationCreated, contracts.StationUpdated, check=_check_station
)
SCENARIOS = RecordKind(
    orm.Scenario,
    "应用场景",
    contracts.ScenarioCreated,
    contracts.ScenarioUpdated,
    check=_check_scenario,
)
PAIRINGS = RecordKind(
    orm.Pairing,
    "结对",
    contracts.PairingCreated,
    contracts.PairingUpdated,
    division_field="division_code",
    county_only=False,
    check=_check_pairing,
)
PLATFORMS = RecordKind(
    orm.Platform,
    "信息化平台",
    contracts.PlatformCreated,
    contracts.PlatformUpdated,
    division_field="division_code",
    county_only=False,
    check=_check_platform,
)
ENTERPRISES = RecordKind(
    orm.Enterprise,
    "重点企业",
    contracts.EnterpriseRegistered,
    contracts.EnterpriseUpdated,
    check=_check_enterprise,
)


def _record_event(uow: UnitOfWork, event_model: type[EventModel], row: Record) -> None:
    event = event_model.model_validate(row, from_attributes=True)
    uow.record(event, key=row.id, subject=row.id)


async def _new_record(
    uow: UnitOfWork,
    kind: RecordKind[R],
    *,
    principal: Principal,
    node_id: str,
    fields: Mapping[str, Any],
) -> R:
    division = domain.check_division(fields[kind.division_field], county_only=kind.county_only)
    authorise_place(principal, node_id, division)
    now = utc_now()
    row = kind.model(
        id=domain.new_id(now), owner_node=node_id, created_at=now, updated_at=now, **fields
    )
    place(row, division)
    await kind.check(uow.session, row)
    await add(uow.session, row)
    _record_event(uow, kind.created, row)
    return row


async def create_record(
    uow_factory: UnitOfWorkFactory,
    kind: RecordKind[R],
    *,
    principal: Principal,
    node_id: str,
    fields: Mapping[str, Any],
    idempotency: Idempotency | None = None,
) -> Created[R]:
    """Record a park, market, station, scenario, pairing, platform or enterprise."""

    async def work(uow: UnitOfWork) -> R:
        return await _new_record(uow, kind, principal=principal, node_id=node_id, fields=fields)

    return await create_once(uow_factory, kind.model, idempotency=idempotency, work=work)


async def update_record(
    uow_factory: UnitOfWorkFactory,
    kind: RecordKind[R],
    *,
    principal: Principal,
    node_id: str,
    record_id: str,
    expected_version: Versions,
    changes: Mapping[str, Any],
) -> R:
    """Change a network record (operators whose division holds it, on its owner node)."""
    async with uow_factory() as uow:
        row = await load(uow.session, kind.model, record_id, kind.label)
        authorise_place(principal, node_id, getattr(row, kind.division_field))
        check_version(row, expected_version)
        changed = changed_fields(row, changes)
        if not changed:
            return unchanged(uow, row)
        if kind.division_field in changed:
            division = domain.check_division(
                changed[kind.division_field], county_only=kind.county_only
            )
            authorise_place(principal, node_id, division)
            place(row, division)
        for name, value in changed.items():
            setattr(row, name, value)
        # The checks query; an autoflush now would write the row twice (two versions).
        with uow.session.no_autoflush:
            await kind.check(uow.session, row)
        await flush_update(uow.session, row)
        _record_event(uow, kind.updated, row)
        await uow.commit()
    return row
