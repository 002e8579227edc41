"""The projected records indicators are computed from, as plain values (no ORM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class NetworkKind(StrEnum):
    """The registry's support-network aggregates reporting keeps."""

    PARK = "park"
    MARKET = "market"
    STATION = "station"
    SCENARIO = "scenario"
    PAIRING = "pairing"
    PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class Figure:
    """One year's business of one service line of a supplier, in yuan."""

    year: int
    service_line: str
    revenue_yuan: int
    trade_volume_yuan: int


@dataclass(frozen=True, slots=True)
class SupplierFact:
    """A supplier as reporting sees it."""

    id: str
    city_code: str
    listing_status: str
    listed_on: date | None  # when it last entered the directory; None unless listed
    listing_industries: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    industries: tuple[str, ...] = ()  # every industry it serves (listed or not)


@dataclass(frozen=True, slots=True)
class NetworkFact:
    """A park, market, station, scenario, pairing or platform as reporting sees it.

    ``subtype`` is the record's kind within its aggregate (a market's ``professional_market``,
    a station's ``workstation``, a pairing's ``supplier_area``…); ``since`` its own date when it
    has one (opened, started, launched), else the day it was recorded.
    """

    id: str
    kind: NetworkKind
    subtype: str | None
    level: str | None
    county_code: str
    city_code: str | None
    since: date
    supplier_id: str | None = None
    industries: tuple[str, ...] = ()
    linked_platforms: int = 0
    key_service_objects: int = 0


@dataclass(frozen=True, slots=True)
class ActivityFact:
    """An activity of the calendar as reporting sees it.

    ``occurrences`` are the ones that stand (cancelled ones dropped), each ``(key, local day)``;
    the outcome figures are None until the activity is completed.
    """

    id: str
    kind: str
    level: str
    city_code: str | None
    status: str
    occurrences: tuple[tuple[str, date], ...]
    industries: tuple[str, ...] = ()
    campaign: str | None = None
    positions_offered: int | None = None
    intents_signed: int | None = None
    hr_managers_attended: int | None = None

    @property
    def first_day(self) -> date | None:
        """The day of its first standing occurrence."""
        return min((day for _key, day in self.occurrences), default=None)


@dataclass(frozen=True, slots=True)
class RegistrationFact:
    """A registration for one occurrence of an activity."""

    id: str
    activity_id: str
    participant_kind: str
    status: str
    attendees: int
    checked_in_on: date | None


@dataclass(frozen=True, slots=True)
class OrderFact:
    """An order: demand (head count) for an industry and occupation in a city, and its fulfilment.

    ``filled`` is what it has met: the placements recorded at fulfilment, else the talents
    accepted so far, never more than the head count.
    """

    id: str
    kind: str
    city_code: str
    industry: str | None
    occupation_code: str | None
    head_count: int
    filled: int
    status: str
    placed_on: date
    contract_value_yuan: int | None = None
    fulfilled_on: date | None = None


@dataclass(frozen=True, slots=True)
class TalentFact:
    """A talent: occupation and city only."""

    id: str
    occupation_code: str | None
    city_code: str


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the indicators, lists and catalogue read."""

    suppliers: tuple[SupplierFact, ...] = ()
    network: tuple[NetworkFact, ...] = ()
    activities: tuple[ActivityFact, ...] = ()
    registrations: tuple[RegistrationFact, ...] = ()
    orders: tuple[OrderFact, ...] = ()
    talents: tuple[TalentFact, ...] = ()
    by_kind: dict[NetworkKind, tuple[NetworkFact, ...]] = field(default_factory=dict)
    # What a computation derives from these facts alone (an indicator's items for a year),
    # kept with them: the facts never change once loaded (a new position loads new ones).
    memo: dict[object, object] = field(default_factory=dict)

    def of(self, kind: NetworkKind) -> tuple[NetworkFact, ...]:
        """The network records of one kind."""
        if not self.by_kind and self.network:
            grouped: dict[NetworkKind, list[NetworkFact]] = {}
            for record in self.network:
                grouped.setdefault(record.kind, []).append(record)
            self.by_kind.update({k: tuple(v) for k, v in grouped.items()})
        return self.by_kind.get(kind, ())
