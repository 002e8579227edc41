"""Generated suppliers: ``generate(n, seed)`` yields the same believable firms every time."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shulian_common.reference import cities
from shulian_registry.demo.province import (
    CITY_INDUSTRIES,
    CITY_WEIGHTS,
    FIRST_WORDS,
    SECOND_WORDS,
    YEARS,
    UsccMaker,
    Weighted,
    county_in,
    place_name,
)
from shulian_registry.domain import ListingAction

LINE_WEIGHTS: dict[str, int] = {
    "recruitment": 60, "labour_dispatch": 40, "outsourcing": 35, "training": 35,
    "payroll_social_insurance": 30, "flexible_employment": 25, "labour_services": 20,
    "headhunting": 15, "consulting": 15, "assessment": 10, "hr_software": 8,
}  # fmt: skip


KINDS = ("人力资源", "人力资源服务", "人才服务", "劳务", "人才发展")


LINE_KINDS = {
    "headhunting": "猎头",
    "consulting": "人力资源管理咨询",
    "training": "职业培训",
    "hr_software": "人力资源科技",
}


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"


GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红"


@dataclass(frozen=True, slots=True)
class SupplierSeed:
    """One generated supplier, and the listing steps it has been through."""

    index: int
    name: str
    uscc: str
    county_code: str
    service_lines: tuple[str, ...]
    industries: tuple[str, ...]
    figures: tuple[dict[str, Any], ...]
    contact: dict[str, str]
    listing_path: tuple[ListingAction, ...]
    listing_industries: tuple[str, ...] = ()
    listing_fields: tuple[str, ...] = ()

    @property
    def city_code(self) -> str:
        """The supplier's city."""
        return self.county_code[:4] + "00"

    def fields(self) -> dict[str, Any]:
        """The fields of a ``SupplierCreate`` for this supplier."""
        return {
            "name": self.name,
            "uscc": self.uscc,
            "county_code": self.county_code,
            "service_lines": list(self.service_lines),
            "industries": list(self.industries),
            "figures": list(self.figures),
            "contact": self.contact,
            "description": None,
        }


_CITIES = Weighted(list(CITY_WEIGHTS), list(CITY_WEIGHTS.values()))


_LINES = Weighted(list(LINE_WEIGHTS), list(LINE_WEIGHTS.values()))


_LINE_COUNTS = Weighted((1, 2, 3, 4), (25, 35, 25, 15))


def _weighted_city(rng: random.Random) -> str:
    return _CITIES.pick(rng)


def _service_lines(rng: random.Random) -> tuple[str, ...]:
    count = _LINE_COUNTS.pick(rng)
    chosen: list[str] = []
    while len(chosen) < count:
        pick = _LINES.pick(rng)
        if pick not in chosen:
            chosen.append(pick)
    return tuple(chosen)


def _industries(rng: random.Random, city_code: str) -> tuple[str, ...]:
    local = CITY_INDUSTRIES[city_code]
    count = min(len(local), rng.choices((1, 2, 3), weights=(40, 40, 20))[0])
    chosen = rng.sample(local, count)
    if rng.random() < 0.15:
        chosen.append(rng.choice(("modern_services", "digital_economy", "electronic_information")))
    return tuple(dict.fromkeys(chosen))


def _figures(rng: random.Random, lines: Sequence[str]) -> tuple[dict[str, Any], ...]:
    size = rng.choices((2e6, 2e7, 2e8), weights=(60, 32, 8))[0]
    exporter = rng.random() < 0.12
    rows = []
    for line in lines:
        revenue = size * rng.uniform(0.3, 3.0) / len(lines)
        for offset, year in enumerate(YEARS):
            grown = revenue * (1.08**offset) * rng.uniform(0.9, 1.1)
            trade = grown * rng.uniform(0.01, 0.15) if exporter else 0.0
            rows.append(
                {
                    "year": year,
                    "service_line": line,
                    "revenue_yuan": int(round(grown, -3)),
                    "trade_volume_yuan": int(round(trade, -3)),
                }
            )
    return tuple(rows)


def _contact(rng: random.Random, index: int) -> dict[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
    phone = "1" + rng.choice("3589") + "".join(rng.choices("0123456789", k=9))
    return {"name": name, "phone": phone, "email": f"hr{index:06d}@example.cn"}


# (weight, steps) of where generated suppliers stand in the key directory.
LISTING_PATHS: tuple[tuple[int, tuple[ListingAction, ...]], ...] = (
    (44, ()),
    (10, (ListingAction.APPLY,)),
    (8, (ListingAction.APPLY, ListingAction.REVIEW)),
    (30, (ListingAction.APPLY, ListingAction.REVIEW, ListingAction.APPROVE)),
    (
        3,
        (
            ListingAction.APPLY,
            ListingAction.REVIEW,
            ListingAction.APPROVE,
            ListingAction.SUSPEND,
        ),
    ),
    (
        2,
        (
            ListingAction.APPLY,
            ListingAction.REVIEW,
            ListingAction.APPROVE,
            ListingAction.DELIST,
        ),
    ),
    (3, (ListingAction.APPLY, ListingAction.REVIEW, ListingAction.REJECT)),
)


class NameMaker:
    """Distinct, believable firm names: place + brand + kind + legal form."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seen: set[str] = set()

    def make(self, place: str, lines: Sequence[str]) -> str:
        """A new name for a firm in ``place`` offering ``lines``."""
        rng = self._rng
        special = [LINE_KINDS[line] for line in lines if line in LINE_KINDS]
        while True:
            brand = rng.choice(FIRST_WORDS)
            if rng.random() < 0.5 or len(self._seen) > 2000:
                brand += rng.choice(SECOND_WORDS)
            kind = rng.choice(special) if special and rng.random() < 0.6 else rng.choice(KINDS)
            legal = rng.choices(("有限公司", "有限责任公司", "股份有限公司"), (85, 12, 3))[0]
            name = f"{place}{brand}{kind}{legal}"
            if name not in self._seen:
                self._seen.add(name)
                return name


def generate(n: int, seed: int = 2023) -> Iterator[SupplierSeed]:
    """``n`` suppliers spread over the 21 cities, deterministic for ``seed``."""
    rng = random.Random(seed)
    names, usccs = NameMaker(rng), UsccMaker(rng)
    city_by_code = {city.code: city for city in cities()}
    paths = Weighted([path for _, path in LISTING_PATHS], [w for w, _ in LISTING_PATHS])
    for index in range(n):
        city_code = _weighted_city(rng)
        county = county_in(rng, city_code)
        lines = _service_lines(rng)
        industries = _industries(rng, city_code)
        path = paths.pick(rng)
        yield SupplierSeed(
            index=index,
            name=names.make(place_name(county, city_by_code[city_code]), lines),
            uscc=usccs.make(county.code),
            county_code=county.code,
            service_lines=lines,
            industries=industries,
            figures=_figures(rng, lines),
            contact=_contact(rng, index),
            listing_path=path,
            listing_industries=industries[:2] if path else (),
            listing_fields=lines[:2] if path else (),
        )


BULK_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)


def seed_time(index: int) -> datetime:
    """A registration time for bulk-loaded supplier ``index``: one a minute from 2023-01-01."""
    return BULK_EPOCH + timedelta(minutes=index)
