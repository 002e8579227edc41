"""Sichuan administrative divisions (GB/T 2260): province, 21 cities/prefectures, 183 counties.

The data lives in ``data/sichuan_divisions.csv`` (see ``data/README.md`` for its source and date)
and is loaded once, on first use. Every lookup takes a six-digit code as a string.

Besides the divisions themselves this module holds the groupings the 2023-09-20 seed notice uses:
the five economic regions (:class:`Region`), the seed's cooperation groupings (:class:`Grouping`)
and the four kinds of areas (:class:`AreaKind`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

__all__ = [
    "PROVINCE_CODE",
    "AreaKind",
    "Division",
    "DivisionLevel",
    "Grouping",
    "Region",
    "UnknownDivisionError",
    "all_divisions",
    "cities",
    "cities_in_grouping",
    "cities_in_region",
    "city_of",
    "counties",
    "get_division",
    "groupings",
    "in_scope",
    "is_division",
    "province",
    "region_of",
]

PROVINCE_CODE = "510000"
_PACKAGE = __name__.rpartition(".")[0]
_DATA_FILE = "sichuan_divisions.csv"


class UnknownDivisionError(ValueError):
    """Raised when a code is not a known Sichuan division code."""

    def __init__(self, code: object) -> None:
        super().__init__(f"unknown Sichuan division code: {code!r}")
        self.code = code


class DivisionLevel(StrEnum):
    """Level of a division: the province, a city/prefecture (市州) or a county (区/县/县级市)."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class Region(StrEnum):
    """The five economic regions (五大片区) of Sichuan."""

    CHENGDU_PLAIN = "chengdu_plain"
    SOUTH = "south"
    NORTHEAST = "northeast"
    PANXI = "panxi"
    NORTHWEST = "northwest"

    @property
    def label(self) -> str:
        """Chinese name of the region."""
        return _REGION_LABELS[self]


_REGION_LABELS: dict[Region, str] = {
    Region.CHENGDU_PLAIN: "成都平原",
    Region.SOUTH: "川南",
    Region.NORTHEAST: "川东北",
    Region.PANXI: "攀西",
    Region.NORTHWEST: "川西北",
}


class Grouping(StrEnum):
    """Cooperation groupings named in the seed notice, each defined by its member cities.

    Reading of the seed used here (city level only, never county level):

    - ``CHENGDU_DEYANG_MEISHAN_ZIYANG`` 成德眉资: 成都, 德阳, 眉山, 资阳.
    - ``SOUTH`` 川南: 自贡, 泸州, 内江, 宜宾 (the same cities as :attr:`Region.SOUTH`).
    - ``NORTHEAST`` 川东北: 广元, 南充, 广安, 达州, 巴中 (the same as :attr:`Region.NORTHEAST`).
    - ``PANXI_LIANGSHAN`` 攀西及大小凉山: 攀枝花 and 凉山 (攀西 and 大凉山) plus 乐山, whose
      峨边, 马边 and 金口河 counties form 小凉山; kept at city level, so all of 乐山 is included.
    - ``WESTERN_ETHNIC`` 川西民族地区: the three autonomous prefectures 阿坝, 甘孜 and 凉山.

    Groupings may overlap (凉山 is in two of them) and do not cover the whole province.
    """

    CHENGDU_DEYANG_MEISHAN_ZIYANG = "chengdu_deyang_meishan_ziyang"
    SOUTH = "south"
    NORTHEAST = "northeast"
    PANXI_LIANGSHAN = "panxi_liangshan"
    WESTERN_ETHNIC = "western_ethnic"

    @property
    def label(self) -> str:
        """Chinese name of the grouping, as written in the seed."""
        return _GROUPING_LABELS[self]


_GROUPING_LABELS: dict[Grouping, str] = {
    Grouping.CHENGDU_DEYANG_MEISHAN_ZIYANG: "成德眉资",
    Grouping.SOUTH: "川南",
    Grouping.NORTHEAST: "川东北",
    Grouping.PANXI_LIANGSHAN: "攀西及大小凉山",
    Grouping.WESTERN_ETHNIC: "川西民族地区",
}

_GROUPING_CITIES: dict[Grouping, tuple[str, ...]] = {
    Grouping.CHENGDU_DEYANG_MEISHAN_ZIYANG: ("510100", "510600", "511400", "512000"),
    Grouping.SOUTH: ("510300", "510500", "511000", "511500"),
    Grouping.NORTHEAST: ("510800", "511300", "511600", "511700", "511900"),
    Grouping.PANXI_LIANGSHAN: ("510400", "511100", "513400"),
    Grouping.WESTERN_ETHNIC: ("513200", "513300", "513400"),
}


class AreaKind(StrEnum):
    """The four kinds of areas (四类地区) used for pairings; a county can be several at once."""

    OLD_REVOLUTIONARY_BASE = "old_revolutionary_base"
    LIFTED_FROM_POVERTY = "lifted_from_poverty"
    ETHNIC = "ethnic"
    BASIN_MOUNTAIN = "basin_mountain"

    @property
    def label(self) -> str:
        """Chinese name of the kind of area."""
        return _AREA_KIND_LABELS[self]


_AREA_KIND_LABELS: dict[AreaKind, str] = {
    AreaKind.OLD_REVOLUTIONARY_BASE: "革命老区",
    AreaKind.LIFTED_FROM_POVERTY: "脱贫地区",
    AreaKind.ETHNIC: "民族地区",
    AreaKind.BASIN_MOUNTAIN: "盆周山区",
}


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division: its GB/T 2260 code, official name, level and parent.

    ``short_name`` and ``name_en`` are set for the province and the cities only (the forms used
    in the domain documents, e.g. 成都 / Chengdu, 阿坝州 / Ngawa (Aba)).
    """

    code: str
    name: str
    level: DivisionLevel
    parent_code: str | None
    short_name: str | None = None
    name_en: str | None = None


@dataclass(frozen=True, slots=True)
class _Table:
    by_code: dict[str, Division]
    city_regions: dict[str, Region]
    counties_by_city: dict[str, tuple[Division, ...]]


def _none_if_empty(value: str) -> str | None:
    return value or None


@cache
def _table() -> _Table:
    text = resources.files(_PACKAGE).joinpath("data", _DATA_FILE).read_text(encoding="utf-8")
    by_code: dict[str, Division] = {}
    city_regions: dict[str, Region] = {}
    counties_by_city: dict[str, list[Division]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        division = Division(
            code=row["code"],
            name=row["name"],
            level=DivisionLevel(row["level"]),
            parent_code=_none_if_empty(row["parent_code"]),
            short_name=_none_if_empty(row["short_name"]),
            name_en=_none_if_empty(row["name_en"]),
        )
        if division.code in by_code:
            raise RuntimeError(f"duplicate division code in {_DATA_FILE}: {division.code}")
        by_code[division.code] = division
        if division.level is DivisionLevel.CITY:
            city_regions[division.code] = Region(row["region"])
            counties_by_city.setdefault(division.code, [])
        elif division.level is DivisionLevel.COUNTY:
            assert division.parent_code is not None
            counties_by_city.setdefault(division.parent_code, []).append(division)
    return _Table(
        by_code=by_code,
        city_regions=city_regions,
        counties_by_city={city: tuple(items) for city, items in counties_by_city.items()},
    )


def all_divisions() -> list[Division]:
    """Return every division (province, cities, counties) ordered by code."""
    return sorted(_table().by_code.values(), key=lambda d: d.code)


def get_division(code: str) -> Division:
    """Return the division with this code, or raise UnknownDivisionError."""
    try:
        return _table().by_code[code]
    except (KeyError, TypeError):
        raise UnknownDivisionError(code) from None


def is_division(code: str) -> bool:
    """Tell whether the code is a known Sichuan division (province, city or county)."""
    return isinstance(code, str) and code in _table().by_code


def province() -> Division:
    """Return the province, 510000 四川省."""
    return get_division(PROVINCE_CODE)


def cities() -> list[Division]:
    """Return the 21 cities/prefectures ordered by code."""
    table = _table()
    return [table.by_code[code] for code in sorted(table.city_regions)]


def counties(city_code: str | None = None) -> list[Division]:
    """Return the counties of one city, or of the whole province when no city is given."""
    table = _table()
    if city_code is None:
        return [d for d in all_divisions() if d.level is DivisionLevel.COUNTY]
    city = get_division(city_code)
    if city.level is not DivisionLevel.CITY:
        raise ValueError(f"{city_code} ({city.name}) is not a city/prefecture code")
    return list(table.counties_by_city[city.code])


def city_of(code: str) -> Division:
    """Return the city of a county, or the city itself for a city code."""
    division = get_division(code)
    if division.level is DivisionLevel.CITY:
        return division
    if division.level is DivisionLevel.COUNTY:
        assert division.parent_code is not None
        return get_division(division.parent_code)
    raise ValueError(f"{code} is the province and has no city")


def region_of(code: str) -> Region:
    """Return the economic region of a city or county."""
    return _table().city_regions[city_of(code).code]


def cities_in_region(region: Region) -> list[Division]:
    """Return the cities of one economic region ordered by code."""
    region = Region(region)
    return [city for city in cities() if _table().city_regions[city.code] is region]


def cities_in_grouping(grouping: Grouping) -> list[Division]:
    """Return the member cities of one cooperation grouping ordered by code."""
    return [get_division(code) for code in _GROUPING_CITIES[Grouping(grouping)]]


def groupings() -> dict[Grouping, list[Division]]:
    """Return every cooperation grouping with its member cities."""
    return {grouping: cities_in_grouping(grouping) for grouping in Grouping}


def in_scope(scope_code: str, code: str) -> bool:
    """Tell whether ``code`` lies within ``scope_code`` (province > city > county).

    The province contains every division; a city contains itself and its counties; a county
    contains only itself. Unknown codes raise UnknownDivisionError rather than answering False.
    """
    scope = get_division(scope_code)
    target = get_division(code)
    if scope.level is DivisionLevel.PROVINCE:
        return True
    if scope.code == target.code:
        return True
    return scope.level is DivisionLevel.CITY and target.parent_code == scope.code
