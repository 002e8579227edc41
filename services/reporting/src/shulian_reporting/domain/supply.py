"""Supply-demand lists (供需清单) and the shortage catalogue (急需紧缺人才目录), as functions.

Demand is matching's orders placed in the period (cancelled ones left out; an expired order's
demand was real and stays): head count by city, industry and occupation, and what has been met
(placements recorded at fulfilment, else talents accepted). Supply is what could meet it: listed
suppliers of the city serving the industry (only listed suppliers may grab orders), and talents of
the occupation in the city (matching publishes occupation and county only, never a person).

The **shortage ratio** of a line is its unmet head count per available talent (with no talent,
per one): 3.0 means three unfilled places for each talent at hand. The catalogue ranks the
province's (industry, occupation) lines by unmet demand and gives each the highest shortage
level whose threshold its ratio reaches; thresholds are data (``shortage_levels``), seeded from
``SEED_LEVELS`` and editable by the province.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from shulian_reporting.domain.facts import Facts, OrderFact
from shulian_reporting.domain.scope import Scope


@dataclass(frozen=True, slots=True)
class Period:
    """The days a list covers: a year, a quarter or a month."""

    start: date
    end: date
    label: str


def period_of(year: int, *, quarter: int | None = None, month: int | None = None) -> Period:
    """The period of ``year``, or of one of its quarters or months."""
    if month is not None:
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Period(date(year, month, 1), date.fromordinal(end.toordinal() - 1),
                      f"{year}年{month}月")  # fmt: skip
    if quarter is not None:
        first = 3 * (quarter - 1) + 1
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, first + 3, 1)
        return Period(date(year, first, 1), date.fromordinal(end.toordinal() - 1),
                      f"{year}年第{quarter}季度")  # fmt: skip
    return Period(date(year, 1, 1), date(year, 12, 31), f"{year}年")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a list: demand against supply for a city (or the scope), industry and
    occupation."""

    city_code: str | None  # None: the whole scope (catalogue lines)
    industry: str | None
    occupation_code: str | None
    orders: int
    demand: int
    filled: int
    talents: int
    suppliers: int

    @property
    def unmet(self) -> int:
        """Head count not met yet."""
        return self.demand - self.filled

    @property
    def gap(self) -> int:
        """Unmet head count the talents at hand cannot cover (缺口)."""
        return max(self.unmet - self.talents, 0)

    @property
    def ratio(self) -> float:
        """Unmet head count per available talent (per one when there is none)."""
        return round(self.unmet / max(self.talents, 1), 2)


def demand_in(facts: Facts, scope: Scope, period: Period) -> list[OrderFact]:
    """The orders of ``scope`` placed within ``period``, cancelled ones left out."""
    return [
        o
        for o in facts.orders
        if scope.covers(o.city_code)
        and period.start <= o.placed_on <= period.end
        and o.status != "cancelled"
    ]


def _talents(facts: Facts) -> Counter[tuple[str, str | None]]:
    return Counter((t.city_code, t.occupation_code) for t in facts.talents)


def _suppliers(facts: Facts, by: date) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for s in facts.suppliers:
        if s.listing_status == "listed" and s.listed_on is not None and s.listed_on <= by:
            for industry in set(s.industries) | set(s.listing_industries):
                found[(s.city_code, industry)] += 1
    return found


def supply_demand(facts: Facts, scope: Scope, period: Period) -> list[Line]:
    """The list of ``scope`` for ``period``: one line per city, industry and occupation with
    demand, by city code then unmet head count (largest first)."""
    groups: dict[tuple[str, str | None, str | None], list[OrderFact]] = {}
    for o in demand_in(facts, scope, period):
        groups.setdefault((o.city_code, o.industry, o.occupation_code), []).append(o)
    talents, suppliers = _talents(facts), _suppliers(facts, period.end)
    lines = [
        Line(
            city_code=city,
            industry=industry,
            occupation_code=occupation,
            orders=len(orders),
            demand=sum(o.head_count for o in orders),
            filled=sum(o.filled for o in orders),
            talents=talents[(city, occupation)],
            suppliers=suppliers[(city, industry)] if industry else 0,
        )
        for (city, industry, occupation), orders in groups.items()
    ]
    return sorted(lines, key=lambda line: (line.city_code or "", -line.unmet, line.industry or ""))


def totals(lines: Iterable[Line]) -> dict[str, int]:
    """The sums of a list's columns."""
    rows = list(lines)
    return {
        "orders": sum(line.orders for line in rows),
        "demand": sum(line.demand for line in rows),
        "filled": sum(line.filled for line in rows),
        "unmet": sum(line.unmet for line in rows),
        "gap": sum(line.gap for line in rows),
    }


# --- the shortage catalogue -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Level:
    """A shortage level: reached from ``min_ratio`` up."""

    code: str
    name: str
    min_ratio: float


SEED_LEVELS: tuple[Level, ...] = (
    Level("severe", "特别紧缺", 5.0),
    Level("high", "紧缺", 2.0),
    Level("moderate", "较紧缺", 1.2),
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One occupation of the catalogue."""

    rank: int
    line: Line
    level: Level


def level_for(ratio: float, levels: Sequence[Level]) -> Level | None:
    """The highest level whose threshold ``ratio`` reaches (None below every threshold)."""
    reached = [level for level in levels if ratio >= level.min_ratio]
    return max(reached, key=lambda level: level.min_ratio, default=None)


def _rank_key(line: Line) -> tuple[int, float, str, str]:
    return (-line.unmet, -line.ratio, line.industry or "", line.occupation_code or "")


def catalogue(facts: Facts, scope: Scope, year: int, levels: Sequence[Level]) -> list[Entry]:
    """The catalogue of ``year``: the (industry, occupation) lines of ``scope`` naming an
    occupation, with unmet demand whose ratio reaches a level, ranked by unmet head count, then
    ratio."""
    by_line: dict[tuple[str | None, str | None], list[Line]] = {}
    for line in supply_demand(facts, scope, period_of(year)):
        if line.occupation_code is None:  # a service order naming no occupation: not a talent
            continue
        by_line.setdefault((line.industry, line.occupation_code), []).append(line)
    talents = Counter(
        t.occupation_code for t in facts.talents if scope.covers(t.city_code)
    )  # talents serve every industry of their occupation
    merged = [
        Line(
            city_code=None,
            industry=industry,
            occupation_code=occupation,
            orders=sum(line.orders for line in lines),
            demand=sum(line.demand for line in lines),
            filled=sum(line.filled for line in lines),
            talents=talents[occupation],
            suppliers=sum(line.suppliers for line in lines),
        )
        for (industry, occupation), lines in by_line.items()
    ]
    ranked = sorted(
        (line for line in merged if line.unmet > 0),
        key=_rank_key,
    )
    entries: list[Entry] = []
    for line in ranked:
        level = level_for(line.ratio, levels)
        if level is not None:
            entries.append(Entry(len(entries) + 1, line, level))
    return entries


def shortages_by_city(
    facts: Facts, scope: Scope, period: Period, threshold: float
) -> dict[str, list[Line]]:
    """Per city, its lines whose shortage ratio is at or over ``threshold`` (急需紧缺预警)."""
    found: dict[str, list[Line]] = {}
    for line in supply_demand(facts, scope, period):
        if line.unmet > 0 and line.ratio >= threshold and line.city_code is not None:
            found.setdefault(line.city_code, []).append(line)
    return found
