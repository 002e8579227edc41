"""What a report covers: the province, one of the five regions (五大片区), or one city."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shulian_common.reference import (
    PROVINCE_CODE,
    DivisionLevel,
    Region,
    UnknownDivisionError,
    cities,
    cities_in_region,
    get_division,
)


class ScopeLevel(StrEnum):
    """Province, region or city."""

    PROVINCE = "province"
    REGION = "region"
    CITY = "city"


class UnknownScopeError(ValueError):
    """A scope code that is neither the province, a region nor a city."""


@dataclass(frozen=True, slots=True)
class Scope:
    """A scope and the cities in it."""

    level: ScopeLevel
    code: str
    name: str
    city_codes: tuple[str, ...]

    def covers(self, city_code: str | None) -> bool:
        """Whether a record of ``city_code`` counts here (province-level records: province only)."""
        if city_code is None:
            return self.level is ScopeLevel.PROVINCE
        return city_code in self.city_codes


def scope_of(code: str) -> Scope:
    """The scope named by ``code``: 510000, a region code (``chengdu_plain``…) or a city code."""
    all_cities = tuple(city.code for city in cities())
    if code == PROVINCE_CODE:
        return Scope(ScopeLevel.PROVINCE, code, "四川省", all_cities)
    if code in {region.value for region in Region}:
        region = Region(code)
        members = tuple(city.code for city in cities_in_region(region))
        return Scope(ScopeLevel.REGION, code, region.label, members)
    try:
        division = get_division(code)
    except UnknownDivisionError:
        raise UnknownScopeError(code) from None
    if division.level is not DivisionLevel.CITY:
        raise UnknownScopeError(code)
    return Scope(ScopeLevel.CITY, code, division.name, (code,))


def city_name(code: str) -> str:
    """The short Chinese name of a city (成都, 阿坝州…)."""
    division = get_division(code)
    return division.short_name or division.name
