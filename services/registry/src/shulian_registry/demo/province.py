"""The generated province's ground truth: weights, featured industries, names, valid USCCs.

Codes come from the reference data; USCCs are valid (GB 32100 and GB 11714 check characters)
and carry the county code in characters 3-8.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from functools import cache
from typing import Generic, TypeVar

from shulian_common.reference import (
    Division,
    cities,
    counties,
    organization_code_check_character,
    uscc_check_character,
)
from shulian_common.reference.taxonomy import industry
from shulian_common.reference.validators import USCC_CHARSET

T = TypeVar("T")


YEARS = (2023, 2024, 2025)


CHENGDU = "510100"


# Share of the province's suppliers per city (Chengdu hosts about a third of the sector).
CITY_WEIGHTS: dict[str, int] = {
    "510100": 34, "510300": 3, "510400": 2, "510500": 5, "510600": 5, "510700": 6,
    "510800": 2, "510900": 3, "511000": 3, "511100": 4, "511300": 5, "511400": 3,
    "511500": 6, "511600": 3, "511700": 4, "511800": 2, "511900": 2, "512000": 2,
    "513200": 1, "513300": 1, "513400": 3,
}  # fmt: skip


# Each city's featured industries as the seed notice names them (others fill the rest).
CITY_INDUSTRIES: dict[str, tuple[str, ...]] = {
    "510100": ("electronic_information", "modern_services", "digital_economy", "drones_aviation",
               "autos_parts", "culture_tourism"),
    "510300": ("lantern_making", "new_energy", "new_chemicals", "drones_aviation"),
    "510400": ("vanadium_titanium", "advanced_materials"),
    "510500": ("liquor_food", "energy_chemicals", "electronic_information"),
    "510600": ("major_equipment", "electronic_information"),
    "510700": ("electronic_information", "digital_economy"),
    "510800": ("green_aluminium", "silicon_materials"),
    "510900": ("lithium_materials", "electronic_information"),
    "511000": ("liquor_food", "advanced_materials"),
    "511100": ("culture_tourism", "crystalline_pv"),
    "511300": ("modern_agriculture", "autos_parts", "oil_gas_chemicals", "electronic_information"),
    "511400": ("electronic_information", "lithium_materials"),
    "511500": ("liquor_food", "digital_economy", "power_batteries", "crystalline_pv"),
    "511600": ("electronic_information", "modern_agriculture"),
    "511700": ("energy_chemicals", "oil_gas_chemicals"),
    "511800": ("sichuan_tibet_railway", "culture_tourism"),
    "511900": ("modern_agriculture", "culture_tourism"),
    "512000": ("electronic_information", "major_equipment"),
    "513200": ("culture_tourism", "new_energy"),
    "513300": ("culture_tourism", "new_energy"),
    "513400": ("new_energy", "modern_agriculture", "culture_tourism"),
}  # fmt: skip


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_WORDS = _words(
    "蜀才 天府 锦程 华西 众合 博睿 英才 智联 金桥 汇才 聚贤 德才 鼎信 "
    "远航 启航 鸿图 立信 精诚 同创 新程 卓越 恒达 嘉诚 巴蜀 诚达 优聘 "
    "才源 仕达 宏远 百川 明德 睿博 安达 凯瑞 东方 中联 天成 安顺 信达 "
    "泰和"
)


SECOND_WORDS = _words(
    "人和 众诚 盛世 万通 嘉禾 瑞丰 丰泽 久远 和信 恒通 新锐 前程 汇智 "
    "君诚 长青 同心 宏达 永信 鑫源 星辰 腾飞 启明 博远 华源 致远 金鼎 "
    "安泰 聚力 融智"
)


@cache
def county_pool() -> dict[str, tuple[Division, ...]]:
    return {city.code: tuple(counties(city.code)) for city in cities()}


def place_name(county: Division, city: Division) -> str:
    """A short place word for a firm name: the county's short form, else the city's."""
    name = county.name
    for suffix in ("区", "县", "市"):
        if name.endswith(suffix) and len(name) >= 3 and "自治" not in name and name != "市中区":
            return name[: -len(suffix)]
    return city.short_name.removesuffix("州") if city.short_name else city.name


class UsccMaker:
    """Valid, distinct Unified Social Credit Codes for one generation run."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seen: set[str] = set()

    def make(self, county_code: str, *, authority: str = "9", kind: str = "1") -> str:
        """A new USCC registered in ``county_code`` (default: 9 市场监管, 1 企业)."""
        while True:
            body = "MA" + "".join(self._rng.choices(USCC_CHARSET, k=6))
            org = body + organization_code_check_character(body)
            first17 = f"{authority}{kind}{county_code}{org}"
            code = first17 + uscc_check_character(first17)
            if code not in self._seen:
                self._seen.add(code)
                return code


class Weighted(Generic[T]):
    """Weighted picks with the cumulative weights computed once (100,000 picks add up)."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        """One item, with probability proportional to its weight (as ``random.choices``)."""
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.total)]


@cache
def _counties_weighted(city_code: str) -> Weighted[Division]:
    pool = county_pool()[city_code]
    # Urban districts (listed first) host more firms than outlying counties.
    return Weighted(pool, [max(1, 6 - i) for i in range(len(pool))])


def county_in(rng: random.Random, city_code: str) -> Division:
    return _counties_weighted(city_code).pick(rng)


def city_named(code: str) -> Division:
    return next(c for c in cities() if c.code == code)


def short_name(city_code: str) -> str:
    city = city_named(city_code)
    return (city.short_name or city.name).removesuffix("州")


def industry_word(code: str) -> str:
    return industry(code).name.split("(")[0]
