"""Indicator figures for a year and a scope, from the projected records.

Each registry indicator turns the facts into ``Item`` s — one per thing counted, with its city,
industries, date and amount — and one aggregation per ``Measure`` turns items into the actual
figure and its breakdowns by city, industry and month. Indicators whose source stream no
service produces yet are reported as such (``Status.NO_SOURCE``), never as zero.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from shulian_reporting.domain.facts import Facts, NetworkFact, NetworkKind
from shulian_reporting.domain.indicators import (
    INDICATORS,
    Indicator,
    Measure,
    Period,
    Source,
    Status,
    expected_at,
    report_date,
    status_of,
)
from shulian_reporting.domain.labels import HIGH_END_SERVICE_LINES
from shulian_reporting.domain.scope import Scope

STATION_KINDS = frozenset({"liaison_point", "workstation", "service_net"})
STRONG_COUNTY_MARKETS = frozenset({"professional_market", "state_owned_platform"})
HIGH_LEVELS = frozenset({"national", "provincial"})


@dataclass(frozen=True, slots=True)
class Item:
    """One thing an indicator counts: ``key`` is what makes it distinct (a record, a county…)."""

    key: str
    city: str | None
    on: date | None  # None: dated by the indicator's year already (yearly figures)
    value: float = 1.0
    part: float = 0.0  # the numerator of a share
    industries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One indicator for one year and scope, at a date."""

    indicator: Indicator
    scope: Scope
    year: int
    as_of: date
    target: float | None
    actual: float | None
    share: float | None  # actual over target, in percent
    expected: float | None
    status: Status
    records: int = 0
    by_city: dict[str, float] = field(default_factory=dict)
    by_industry: dict[str, float] = field(default_factory=dict)
    by_month: dict[int, float] = field(default_factory=dict)


Targets = Mapping[tuple[str, str], float]  # (indicator code, scope code) → target
ItemsOf = Callable[[Facts, int, Scope], list[Item]]


def compute_all(
    facts: Facts,
    *,
    scope: Scope,
    year: int,
    today: date,
    targets: Targets,
    sources: Collection[Source],
) -> list[IndicatorResult]:
    """Every indicator of the table for ``scope`` and ``year``, as it stands at ``today``."""
    as_of = report_date(year, today)
    return [
        compute_one(ind, facts, scope=scope, year=year, as_of=as_of, targets=targets,
                    sources=sources)
        for ind in INDICATORS
    ]  # fmt: skip


def compute_one(
    ind: Indicator,
    facts: Facts,
    *,
    scope: Scope,
    year: int,
    as_of: date,
    targets: Targets,
    sources: Collection[Source],
) -> IndicatorResult:
    """One indicator for ``scope`` and ``year`` at ``as_of``."""
    target = targets.get((ind.code, scope.code))
    if ind.source not in sources or ind.code not in ITEMS:
        return IndicatorResult(ind, scope, year, as_of, target, None, None, None, Status.NO_SOURCE)
    items = [
        item
        for item in _items_of(ind.code, facts, year, scope)
        if scope.covers(item.city) and (item.on is None or item.on <= as_of)
    ]
    actual = aggregate(ind.measure, items)
    expected = None if target is None else expected_at(ind, target, year, as_of)
    return IndicatorResult(
        indicator=ind,
        scope=scope,
        year=year,
        as_of=as_of,
        target=target,
        actual=actual,
        share=None if not target else round(100 * actual / target, 1),
        expected=None if expected is None else round(expected, 2),
        status=status_of(ind, actual=actual, target=target, expected=expected),
        records=len({item.key for item in items}),
        by_city=_by_city(ind.measure, items, scope),
        by_industry=_by_industry(ind.measure, items),
        by_month=_by_month(ind, items, year),
    )


def _items_of(code: str, facts: Facts, year: int, scope: Scope) -> list[Item]:
    """An indicator's items for ``year`` (every scope's: scopes filter them), built once per
    facts and year — a report over 21 cities builds each list once, not 21 times."""
    key = ("items", code, year)
    items = facts.memo.get(key)
    if items is None:
        items = facts.memo[key] = ITEMS[code](facts, year, scope)
    return items  # type: ignore[return-value]


def aggregate(measure: Measure, items: Iterable[Item]) -> float:
    """The figure ``items`` add up to under ``measure`` (0 when there are none)."""
    rows = list(items)
    if not rows:
        return 0.0
    if measure is Measure.COUNT:
        return float(len({item.key for item in rows}))
    if measure is Measure.SUM:
        return float(sum(item.value for item in rows))
    if measure is Measure.MINIMUM:
        return float(min(item.value for item in rows))
    whole = sum(item.value for item in rows)
    return round(100 * sum(item.part for item in rows) / whole, 2) if whole else 0.0


def _by_city(measure: Measure, items: list[Item], scope: Scope) -> dict[str, float]:
    groups: dict[str, list[Item]] = {code: [] for code in scope.city_codes}
    for item in items:
        if item.city is not None:
            groups.setdefault(item.city, []).append(item)
    return {city: aggregate(measure, group) for city, group in groups.items()}


def _by_industry(measure: Measure, items: list[Item]) -> dict[str, float]:
    groups: dict[str, list[Item]] = {}
    for item in items:
        for code in item.industries:
            groups.setdefault(code, []).append(item)
    return {code: aggregate(measure, groups[code]) for code in sorted(groups)}


def _by_month(ind: Indicator, items: list[Item], year: int) -> dict[int, float]:
    """What each month of ``year`` added (stocks and sums only; a level has no monthly flow;
    a yearly figure only when its items are dated)."""
    if ind.measure not in (Measure.COUNT, Measure.SUM):
        return {}
    if ind.period is Period.YEARLY and not any(item.on is not None for item in items):
        return {}
    first: dict[str, Item] = {}  # each key's earliest item (the first of equals)
    for item in items:
        held = first.get(item.key)
        if held is None or (item.on or date.min) < (held.on or date.min):
            first[item.key] = item
    months = dict.fromkeys(range(1, 13), 0.0)
    for item in first.values() if ind.measure is Measure.COUNT else items:
        if item.on is not None and item.on.year == year:
            months[item.on.month] += item.value if ind.measure is Measure.SUM else 1
    return months


# --- the items of each registry indicator ---------------------------------------------------


def _records(kind: NetworkKind, keep: Callable[[NetworkFact], bool] = lambda _r: True) -> ItemsOf:
    def items(facts: Facts, _year: int, _scope: Scope) -> list[Item]:
        return [
            Item(r.id, r.city_code, r.since, industries=r.industries)
            for r in facts.of(kind)
            if keep(r)
        ]

    return items


def _directory(facts: Facts, _year: int, _scope: Scope) -> list[Item]:
    return [
        Item(s.id, s.city_code, s.listed_on, industries=s.listing_industries)
        for s in facts.suppliers
        if s.listing_status == "listed" and s.listed_on is not None
    ]


def _strong_counties(facts: Facts, _year: int, _scope: Scope) -> list[Item]:
    return [
        Item(m.county_code, m.city_code, m.since, industries=m.industries)
        for m in facts.of(NetworkKind.MARKET)
        if m.subtype in STRONG_COUNTY_MARKETS
    ]


def _paired_suppliers(facts: Facts, _year: int, _scope: Scope) -> list[Item]:
    return [
        Item(p.supplier_id, p.city_code, p.since, industries=p.industries)
        for p in facts.of(NetworkKind.PAIRING)
        if p.subtype == "supplier_area" and p.supplier_id is not None
    ]


def _coverage(facts: Facts, _year: int, _scope: Scope) -> list[Item]:
    """A city is covered from the day it has both a national/provincial park and market."""
    parks = _earliest(r for r in facts.of(NetworkKind.PARK) if r.level in HIGH_LEVELS)
    markets = _earliest(
        r
        for r in facts.of(NetworkKind.MARKET)
        if r.level in HIGH_LEVELS and r.subtype == "professional_market"
    )
    return [
        Item(city, city, max(parks[city], markets[city])) for city in sorted(parks.keys() & markets)
    ]


def _earliest(records: Iterable[NetworkFact]) -> dict[str, date]:
    found: dict[str, date] = {}
    for r in records:
        if r.city_code is not None:
            found[r.city_code] = min(found.get(r.city_code, r.since), r.since)
    return found


def _per_record(kind: NetworkKind, level: str, amount: str) -> ItemsOf:
    def items(facts: Facts, _year: int, _scope: Scope) -> list[Item]:
        return [
            Item(r.id, r.city_code, r.since, value=getattr(r, amount), industries=r.industries)
            for r in facts.of(kind)
            if r.level == level
        ]

    return items


def _trade_volume(facts: Facts, year: int, _scope: Scope) -> list[Item]:
    """The suppliers' declared yearly figures, plus the contract value of every service order
    fulfilled through the platform in ``year`` (dated by its fulfilment)."""
    declared = [
        Item(s.id, s.city_code, None, value=f.trade_volume_yuan, industries=s.listing_industries)
        for s in facts.suppliers
        for f in s.figures
        if f.year == year
    ]
    contracted = [
        Item(o.id, o.city_code, o.fulfilled_on, value=o.contract_value_yuan,
             industries=(o.industry,) if o.industry else ())
        for o in facts.orders
        if o.contract_value_yuan is not None
        and o.fulfilled_on is not None
        and o.fulfilled_on.year == year
    ]  # fmt: skip
    return declared + contracted


def _high_end(facts: Facts, year: int, _scope: Scope) -> list[Item]:
    return [
        Item(
            s.id,
            s.city_code,
            None,
            value=f.revenue_yuan,
            part=f.revenue_yuan if f.service_line in HIGH_END_SERVICE_LINES else 0,
            industries=s.listing_industries,
        )
        for s in facts.suppliers
        for f in s.figures
        if f.year == year
    ]


# --- the items of each events indicator ----------------------------------------------------

HR_MANAGER_KINDS = frozenset({"forum", "exhibition", "study_visit", "hr_training"})


def _sessions(kind: str) -> ItemsOf:
    """Each standing occurrence (场次) of the year of an activity of ``kind`` not cancelled."""

    def items(facts: Facts, year: int, _scope: Scope) -> list[Item]:
        return [
            Item(f"{a.id}#{key}", a.city_code, day, industries=a.industries)
            for a in facts.activities
            if a.kind == kind and a.status != "cancelled"
            for key, day in a.occurrences
            if day.year == year
        ]

    return items


def _hr_managers(facts: Facts, year: int, _scope: Scope) -> list[Item]:
    """HR managers at forums, exhibitions, study visits and trainings, in person-times: the
    outcome's figure once an activity is completed, else its check-ins so far."""
    activities = {
        a.id: a for a in facts.activities if a.kind in HR_MANAGER_KINDS and a.status != "cancelled"
    }
    found = [
        Item(a.id, a.city_code, a.first_day, value=a.hr_managers_attended,
             industries=a.industries)
        for a in activities.values()
        if a.hr_managers_attended is not None and a.first_day and a.first_day.year == year
    ]  # fmt: skip
    for r in facts.registrations:
        a = activities.get(r.activity_id)
        if a is None or a.hr_managers_attended is not None or r.checked_in_on is None:
            continue
        if r.status == "checked_in" and r.checked_in_on.year == year:
            found.append(
                Item(r.id, a.city_code, r.checked_in_on, value=r.attendees, industries=a.industries)
            )
    return found


def _supplier_participations(facts: Facts, year: int, _scope: Scope) -> list[Item]:
    """Suppliers checked in at an activity (firm-times), dated by the check-in."""
    activities = {a.id: a for a in facts.activities}
    found = []
    for r in facts.registrations:
        a = activities.get(r.activity_id)
        if a is None or r.participant_kind != "supplier" or r.status != "checked_in":
            continue
        if r.checked_in_on is not None and r.checked_in_on.year == year:
            found.append(Item(r.id, a.city_code, r.checked_in_on, industries=a.industries))
    return found


ITEMS: dict[str, ItemsOf] = {
    "province_activities": _sessions("province_fair"),
    "city_activities": _sessions("city_fair"),
    "recruitment_sessions": _sessions("recruitment"),
    "hr_manager_participations": _hr_managers,
    "supplier_participations": _supplier_participations,
    "directory_suppliers": _directory,
    "scenarios": _records(NetworkKind.SCENARIO),
    "stations": _records(NetworkKind.STATION, lambda r: r.subtype in STATION_KINDS),
    "strong_counties": _strong_counties,
    "paired_suppliers": _paired_suppliers,
    "park_market_coverage": _coverage,
    "national_park_platforms": _per_record(NetworkKind.PARK, "national", "linked_platforms"),
    "national_market_platforms": _per_record(NetworkKind.MARKET, "national", "linked_platforms"),
    "provincial_park_platforms": _per_record(NetworkKind.PARK, "provincial", "linked_platforms"),
    "provincial_market_platforms": _per_record(
        NetworkKind.MARKET, "provincial", "linked_platforms"
    ),
    "national_park_service_objects": _per_record(
        NetworkKind.PARK, "national", "key_service_objects"
    ),
    "provincial_park_service_objects": _per_record(
        NetworkKind.PARK, "provincial", "key_service_objects"
    ),
    "trade_volume": _trade_volume,
    "high_end_share": _high_end,
    "platforms": _records(NetworkKind.PLATFORM),
}
