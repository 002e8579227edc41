"""Consumed snapshots (registry, events, matching): each replaces its projected row unless one
as new is held.

The consumer runner commits: the inbox row and the projected row land in one transaction. Dates
are taken in Asia/Shanghai, the province's calendar, so a listing decided at 01:00 Beijing time
counts on that day and in that month.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from shulian_common import reference
from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork
from shulian_reporting import repository
from shulian_reporting.domain.facts import NetworkKind
from shulian_reporting.domain.occurrences import Moved, standing

if TYPE_CHECKING:  # the reader models are declared with the subscriptions, which import this
    from shulian_reporting.consumers import (
        ActivityReader,
        EnterpriseReader,
        MarketReader,
        OrderReader,
        PairingReader,
        ParkReader,
        PlatformReader,
        RegistrationReader,
        ScenarioReader,
        Snapshot,
        StationReader,
        SupplierListingReader,
        SupplierReader,
        TalentReader,
    )

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in Sichuan."""
    return moment.astimezone(SHANGHAI).date()


def _meta(data: Snapshot | TalentReader) -> dict[str, Any]:
    return {"id": data.id, "owner_node": data.owner_node, "version": data.version}


def supplier_row(data: SupplierReader, entered_on: date | None) -> dict[str, Any]:
    """The projected row of a supplier snapshot; ``entered_on`` if it entered the directory."""
    return {
        **_meta(data),
        "city_code": data.city_code,
        "county_code": data.county_code,
        "high_end": data.high_end,
        "listing_status": data.listing_status,
        "listed_on": entered_on,
        "industries": data.industries,
        "listing_industries": data.listing_industries,
        "figures": [figure.model_dump() for figure in data.figures],
    }


async def apply_supplier(uow: UnitOfWork, _event: CloudEvent, data: SupplierReader) -> None:
    """A supplier was registered or its profile changed."""
    entered = local_day(data.updated_at) if data.listing_status == "listed" else None
    await repository.upsert_supplier(uow.session, supplier_row(data, entered))


async def apply_supplier_listing(
    uow: UnitOfWork, _event: CloudEvent, data: SupplierListingReader
) -> None:
    """A supplier's listing changed: entering the directory dates its listing."""
    entered = local_day(data.decision.decided_at) if data.listing_status == "listed" else None
    await repository.upsert_supplier(uow.session, supplier_row(data, entered))


def _network(
    data: Snapshot,
    kind: NetworkKind,
    *,
    county_code: str,
    city_code: str | None,
    since: date | None,
    **fields: Any,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "subtype": None,
        "level": None,
        "supplier_id": None,
        "industries": [],
        "linked_platforms": 0,
        "key_service_objects": 0,
        **fields,
    }
    return {
        **_meta(data),
        "kind": kind.value,
        "county_code": county_code,
        "city_code": city_code,
        "since": since or local_day(data.created_at),
        **values,
    }


async def apply_park(uow: UnitOfWork, _event: CloudEvent, data: ParkReader) -> None:
    """A park was recorded or changed."""
    row = _network(
        data,
        NetworkKind.PARK,
        county_code=data.county_code,
        city_code=data.city_code,
        since=None,
        level=data.level,
        industries=data.industries,
        linked_platforms=len(data.linked_platforms),
        key_service_objects=len(data.key_service_objects),
    )
    await repository.upsert_network(uow.session, row)


async def apply_market(uow: UnitOfWork, _event: CloudEvent, data: MarketReader) -> None:
    """A market was recorded or changed."""
    row = _network(
        data,
        NetworkKind.MARKET,
        county_code=data.county_code,
        city_code=data.city_code,
        since=None,
        subtype=data.kind,
        level=data.level,
        industries=data.industries,
        linked_platforms=len(data.linked_platforms),
    )
    await repository.upsert_network(uow.session, row)


async def apply_station(uow: UnitOfWork, _event: CloudEvent, data: StationReader) -> None:
    """A station was recorded or changed."""
    row = _network(
        data,
        NetworkKind.STATION,
        county_code=data.county_code,
        city_code=data.city_code,
        since=data.opened_on,
        subtype=data.kind,
        supplier_id=data.supplier_id,
        industries=data.industries,
    )
    await repository.upsert_network(uow.session, row)


async def apply_scenario(uow: UnitOfWork, _event: CloudEvent, data: ScenarioReader) -> None:
    """A scenario was recorded or changed."""
    row = _network(
        data,
        NetworkKind.SCENARIO,
        county_code=data.county_code,
        city_code=data.city_code,
        since=data.started_on,
        supplier_id=data.supplier_id,
        industries=data.industries,
    )
    await repository.upsert_network(uow.session, row)


async def apply_pairing(uow: UnitOfWork, _event: CloudEvent, data: PairingReader) -> None:
    """A pairing was recorded or changed."""
    row = _network(
        data,
        NetworkKind.PAIRING,
        county_code=data.division_code,
        city_code=data.city_code,
        since=data.started_on,
        subtype=data.kind,
        supplier_id=data.supplier_id,
        industries=data.industries,
    )
    await repository.upsert_network(uow.session, row)


async def apply_platform(uow: UnitOfWork, _event: CloudEvent, data: PlatformReader) -> None:
    """A platform was recorded or changed."""
    row = _network(
        data,
        NetworkKind.PLATFORM,
        county_code=data.division_code,
        city_code=data.city_code,
        since=data.launched_on,
        subtype=data.kind,
        supplier_id=data.supplier_id,
    )
    await repository.upsert_network(uow.session, row)


async def apply_enterprise(uow: UnitOfWork, _event: CloudEvent, data: EnterpriseReader) -> None:
    """A key enterprise was registered or changed."""
    row = {
        **_meta(data),
        "city_code": data.city_code,
        "county_code": data.county_code,
        "industries": data.industries,
    }
    await repository.upsert_enterprise(uow.session, row)


async def apply_activity(uow: UnitOfWork, _event: CloudEvent, data: ActivityReader) -> None:
    """An activity was scheduled, changed, held, completed or cancelled."""
    overrides = {o.key: Moved(o.starts_at, o.cancelled) for o in data.overrides}
    occurrences = standing(data.starts_at, data.rrule, overrides)
    outcome = data.outcome
    row = {
        **_meta(data),
        "kind": data.kind,
        "level": data.level,
        "campaign": data.campaign,
        "division_code": data.division_code,
        "city_code": data.city_code,
        "status": data.status,
        "industries": data.industries,
        "occurrences": [[key, day.isoformat()] for key, day in occurrences],
        "positions_offered": outcome.positions_offered if outcome else None,
        "intents_signed": outcome.intents_signed if outcome else None,
        "hr_managers_attended": outcome.hr_managers_attended if outcome else None,
        "firms_participated": outcome.firms_participated if outcome else None,
    }
    await repository.upsert_projection(uow.session, "p_activities", row)


async def apply_registration(uow: UnitOfWork, _event: CloudEvent, data: RegistrationReader) -> None:
    """A registration was decided, approved, promoted, cancelled or checked in."""
    row = {
        **_meta(data),
        "activity_id": data.activity_id,
        "occurrence_key": data.occurrence_key,
        "participant_kind": data.participant_kind,
        "participant_id": data.participant_id,
        "status": data.status,
        "attendees": data.attendees,
        "checked_in_on": local_day(data.checked_in_at) if data.checked_in_at else None,
    }
    await repository.upsert_projection(uow.session, "p_registrations", row)


async def apply_order(uow: UnitOfWork, _event: CloudEvent, data: OrderReader) -> None:
    """An order was placed, changed or fulfilled."""
    row = {
        **_meta(data),
        "kind": data.kind,
        "city_code": data.city_code,
        "county_code": data.county_code,
        "service_line": data.service_line,
        "industry": data.industry,
        "occupation_code": data.occupation_code,
        "head_count": data.head_count,
        "accepted_count": data.accepted_count,
        "status": data.status,
        "placed_on": local_day(data.created_at),
        "placements": data.placements,
        "contract_value_yuan": data.contract_value_yuan,
        "fulfilled_on": local_day(data.fulfilled_at) if data.fulfilled_at else None,
    }
    await repository.upsert_projection(uow.session, "p_orders", row)


async def apply_talent(uow: UnitOfWork, _event: CloudEvent, data: TalentReader) -> None:
    """A talent's profile was saved (occupation and county only)."""
    row = {
        **_meta(data),
        "occupation_code": data.occupation_code,
        "county_code": data.county_code,
        "city_code": city_of(data.county_code),
    }
    await repository.upsert_projection(uow.session, "p_talents", row)


def city_of(county_code: str) -> str:
    """The city (市州) of a county (the trust check has made sure the code is one we know)."""
    return reference.city_of(county_code).code
