"""Consumed snapshots (registry, events, matching): each replaces its projected row unless one
as new is held.

The consumer runner commits: the inbox row and the projected row land in one transaction. Dates
are taken in Asia/Shanghai, the province's calendar, so a listing decided at 01:00 Beijing time
counts on that day and in that month.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from shulian_common import reference
from shulian_common.envelope import CloudEvent
from shulian_common.uow import UnitOfWork
from shulian_reporting import repository
from shulian_reporting.domain.facts import NetworkKind
from shulian_reporting.domain.occurrences import Moved, standing
from shulian_reporting.repository import ProjectedRow

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


# Each projection's row is a tuple in its table's column order (``repository.ROW_COLUMNS``,
# checked against these at import): built straight from the reader model, with no dict per row,
# by the live handlers and the bulk rebuild alike (``ROWS``), so both stage the same rows.
COLUMNS: dict[str, tuple[str, ...]] = {
    "p_suppliers": ("city_code", "county_code", "high_end", "listing_status", "listed_on",
                    "industries", "listing_industries", "figures", "id", "owner_node", "version"),
    "p_network": ("kind", "subtype", "level", "county_code", "city_code", "since", "supplier_id",
                  "industries", "linked_platforms", "key_service_objects", "id", "owner_node",
                  "version"),
    "p_enterprises": ("city_code", "county_code", "industries", "id", "owner_node", "version"),
    "p_activities": ("kind", "level", "campaign", "division_code", "city_code", "status",
                     "industries", "occurrences", "positions_offered", "intents_signed",
                     "hr_managers_attended", "firms_participated", "id", "owner_node", "version"),
    "p_registrations": ("activity_id", "occurrence_key", "participant_kind", "participant_id",
                        "status", "attendees", "checked_in_on", "id", "owner_node", "version"),
    "p_orders": ("kind", "city_code", "county_code", "service_line", "industry",
                 "occupation_code", "head_count", "accepted_count", "status", "placed_on",
                 "placements", "contract_value_yuan", "fulfilled_on", "id", "owner_node",
                 "version"),
    "p_talents": ("occupation_code", "county_code", "city_code", "id", "owner_node", "version"),
}  # fmt: skip
if COLUMNS != repository.ROW_COLUMNS:  # pragma: no cover - a model change not carried here
    raise RuntimeError("projection rows out of step with the tables' columns")


def _figures(data: SupplierReader) -> list[dict[str, Any]]:
    return [
        {
            "year": f.year,
            "service_line": f.service_line,
            "revenue_yuan": f.revenue_yuan,
            "trade_volume_yuan": f.trade_volume_yuan,
        }
        for f in data.figures
    ]


def _supplier(data: SupplierReader, entered_on: date | None) -> ProjectedRow:
    return (
        data.city_code, data.county_code, data.high_end, data.listing_status, entered_on,
        data.industries, data.listing_industries, _figures(data),
        data.id, data.owner_node, data.version,
    )  # fmt: skip


def supplier_row(data: SupplierReader) -> ProjectedRow:
    """A supplier snapshot's row: entering the directory dates its listing (``updated_at``)."""
    listed = data.listing_status == "listed"
    return _supplier(data, local_day(data.updated_at) if listed else None)


def supplier_listing_row(data: SupplierListingReader) -> ProjectedRow:
    """A listing decision's row: entering the directory dates its listing (the decision's)."""
    listed = data.listing_status == "listed"
    return _supplier(data, local_day(data.decision.decided_at) if listed else None)


async def apply_supplier(uow: UnitOfWork, _event: CloudEvent, data: SupplierReader) -> None:
    """A supplier was registered or its profile changed."""
    await repository.stage_row(uow.session, "p_suppliers", supplier_row(data))


async def apply_supplier_listing(
    uow: UnitOfWork, _event: CloudEvent, data: SupplierListingReader
) -> None:
    """A supplier's listing changed: entering the directory dates its listing."""
    await repository.stage_row(uow.session, "p_suppliers", supplier_listing_row(data))


def _since(data: Snapshot, since: date | None) -> date:
    return since or local_day(data.created_at)


_PARK, _MARKET, _STATION = (
    NetworkKind.PARK.value,
    NetworkKind.MARKET.value,
    NetworkKind.STATION.value,
)
_SCENARIO, _PAIRING = NetworkKind.SCENARIO.value, NetworkKind.PAIRING.value
_PLATFORM = NetworkKind.PLATFORM.value


def park_row(data: ParkReader) -> ProjectedRow:
    """A park's row of ``p_network``."""
    return (
        _PARK, None, data.level, data.county_code, data.city_code, local_day(data.created_at),
        None, data.industries, len(data.linked_platforms), len(data.key_service_objects),
        data.id, data.owner_node, data.version,
    )  # fmt: skip


def market_row(data: MarketReader) -> ProjectedRow:
    """A market's row of ``p_network``."""
    return (
        _MARKET, data.kind, data.level, data.county_code, data.city_code,
        local_day(data.created_at), None, data.industries, len(data.linked_platforms), 0,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


def station_row(data: StationReader) -> ProjectedRow:
    """A station's row of ``p_network``."""
    return (
        _STATION, data.kind, None, data.county_code, data.city_code,
        _since(data, data.opened_on), data.supplier_id, data.industries, 0, 0,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


def scenario_row(data: ScenarioReader) -> ProjectedRow:
    """A scenario's row of ``p_network``."""
    return (
        _SCENARIO, None, None, data.county_code, data.city_code,
        _since(data, data.started_on), data.supplier_id, data.industries, 0, 0,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


def pairing_row(data: PairingReader) -> ProjectedRow:
    """A pairing's row of ``p_network`` (its division is a county or the province)."""
    return (
        _PAIRING, data.kind, None, data.division_code, data.city_code,
        _since(data, data.started_on), data.supplier_id, data.industries, 0, 0,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


def platform_row(data: PlatformReader) -> ProjectedRow:
    """A platform's row of ``p_network``."""
    return (
        _PLATFORM, data.kind, None, data.division_code, data.city_code,
        _since(data, data.launched_on), data.supplier_id, [], 0, 0,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


async def apply_park(uow: UnitOfWork, _event: CloudEvent, data: ParkReader) -> None:
    """A park was recorded or changed."""
    await repository.stage_row(uow.session, "p_network", park_row(data))


async def apply_market(uow: UnitOfWork, _event: CloudEvent, data: MarketReader) -> None:
    """A market was recorded or changed."""
    await repository.stage_row(uow.session, "p_network", market_row(data))


async def apply_station(uow: UnitOfWork, _event: CloudEvent, data: StationReader) -> None:
    """A station was recorded or changed."""
    await repository.stage_row(uow.session, "p_network", station_row(data))


async def apply_scenario(uow: UnitOfWork, _event: CloudEvent, data: ScenarioReader) -> None:
    """A scenario was recorded or changed."""
    await repository.stage_row(uow.session, "p_network", scenario_row(data))


async def apply_pairing(uow: UnitOfWork, _event: CloudEvent, data: PairingReader) -> None:
    """A pairing was recorded or changed."""
    await repository.stage_row(uow.session, "p_network", pairing_row(data))


async def apply_platform(uow: UnitOfWork, _event: CloudEvent, data: PlatformReader) -> None:
    """A platform was recorded or changed."""
    await repository.stage_row(uow.session, "p_network", platform_row(data))


def enterprise_row(data: EnterpriseReader) -> ProjectedRow:
    """A key enterprise's row."""
    return (
        data.city_code,
        data.county_code,
        data.industries,
        data.id,
        data.owner_node,
        data.version,
    )


async def apply_enterprise(uow: UnitOfWork, _event: CloudEvent, data: EnterpriseReader) -> None:
    """A key enterprise was registered or changed."""
    await repository.stage_row(uow.session, "p_enterprises", enterprise_row(data))


def activity_row(data: ActivityReader) -> ProjectedRow:
    """An activity's row, its standing occurrences expanded."""
    overrides = {o.key: Moved(o.starts_at, o.cancelled) for o in data.overrides}
    occurrences = standing(data.starts_at, data.rrule, overrides)
    outcome = data.outcome
    return (
        data.kind, data.level, data.campaign, data.division_code, data.city_code, data.status,
        data.industries, [[key, day.isoformat()] for key, day in occurrences],
        outcome.positions_offered if outcome else None,
        outcome.intents_signed if outcome else None,
        outcome.hr_managers_attended if outcome else None,
        outcome.firms_participated if outcome else None,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


async def apply_activity(uow: UnitOfWork, _event: CloudEvent, data: ActivityReader) -> None:
    """An activity was scheduled, changed, held, completed or cancelled."""
    await repository.stage_row(uow.session, "p_activities", activity_row(data))


def registration_row(data: RegistrationReader) -> ProjectedRow:
    """A registration's row."""
    checked_in = data.checked_in_at
    return (
        data.activity_id, data.occurrence_key, data.participant_kind, data.participant_id,
        data.status, data.attendees, local_day(checked_in) if checked_in else None,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


async def apply_registration(uow: UnitOfWork, _event: CloudEvent, data: RegistrationReader) -> None:
    """A registration was decided, approved, promoted, cancelled or checked in."""
    await repository.stage_row(uow.session, "p_registrations", registration_row(data))


def order_row(data: OrderReader) -> ProjectedRow:
    """An order's row."""
    fulfilled = data.fulfilled_at
    return (
        data.kind, data.city_code, data.county_code, data.service_line, data.industry,
        data.occupation_code, data.head_count, data.accepted_count, data.status,
        local_day(data.created_at), data.placements, data.contract_value_yuan,
        local_day(fulfilled) if fulfilled else None,
        data.id, data.owner_node, data.version,
    )  # fmt: skip


async def apply_order(uow: UnitOfWork, _event: CloudEvent, data: OrderReader) -> None:
    """An order was placed, changed or fulfilled."""
    await repository.stage_row(uow.session, "p_orders", order_row(data))


def talent_row(data: TalentReader) -> ProjectedRow:
    """A talent's row (occupation and county only)."""
    return (
        data.occupation_code, data.county_code, city_of(data.county_code),
        data.id, data.owner_node, data.version,
    )  # fmt: skip


async def apply_talent(uow: UnitOfWork, _event: CloudEvent, data: TalentReader) -> None:
    """A talent's profile was saved (occupation and county only)."""
    await repository.stage_row(uow.session, "p_talents", talent_row(data))


# What each handler stages, for the bulk rebuild: the table and the row of a validated snapshot
# (the handler is exactly ``stage_row(table, row(data))``).
ROWS: dict[Callable[..., Awaitable[None]], tuple[str, Callable[[Any], ProjectedRow]]] = {
    apply_supplier: ("p_suppliers", supplier_row),
    apply_supplier_listing: ("p_suppliers", supplier_listing_row),
    apply_park: ("p_network", park_row),
    apply_market: ("p_network", market_row),
    apply_station: ("p_network", station_row),
    apply_scenario: ("p_network", scenario_row),
    apply_pairing: ("p_network", pairing_row),
    apply_platform: ("p_network", platform_row),
    apply_enterprise: ("p_enterprises", enterprise_row),
    apply_activity: ("p_activities", activity_row),
    apply_registration: ("p_registrations", registration_row),
    apply_order: ("p_orders", order_row),
    apply_talent: ("p_talents", talent_row),
}


def city_of(county_code: str) -> str:
    """The city (市州) of a county (the trust check has made sure the code is one we know)."""
    return reference.city_of(county_code).code
