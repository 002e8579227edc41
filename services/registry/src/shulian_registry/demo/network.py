"""The generated support network: parks, markets, stations, enterprises, scenarios, pairings,
platforms — built around a generated set of suppliers.

The kinds of area (四类地区) given to paired counties are illustrative: ethnic areas are the
counties of the three autonomous prefectures and the autonomous counties, old revolutionary base
areas the counties of 巴中, basin-edge mountain areas those of 广元 — not an official list.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shulian_common.reference import PROVINCE_CODE, AreaKind, Division, cities, counties
from shulian_registry.demo.province import (
    CHENGDU,
    CITY_INDUSTRIES,
    FIRST_WORDS,
    SECOND_WORDS,
    UsccMaker,
    city_named,
    county_in,
    county_pool,
    industry_word,
    place_name,
    short_name,
)
from shulian_registry.demo.suppliers import SupplierSeed
from shulian_registry.domain import ListingAction
from shulian_registry.terms import normalise_name


@dataclass(frozen=True, slots=True)
class NetworkSeed:
    """One generated network record: its kind and the fields of its create request.

    ``supplier`` and ``enterprise`` name generated suppliers and enterprises by index (an
    enterprise's own index is ``key``); the seeder resolves them to ids once those exist.
    """

    kind: str
    fields: dict[str, Any]
    division_code: str
    supplier: int | None = None
    enterprise: int | None = None
    key: int | None = None


NATIONAL_PARK = ("中国成都人力资源服务产业园", "510107")


# Provincial parks the seed notice names, each with its featured industries.
PROVINCIAL_PARKS: dict[str, tuple[str, str]] = {
    "510300": ("自贡人力资源服务产业园", "510302"),
    "510400": ("攀枝花人力资源服务产业园", "510402"),
    "510500": ("川南人力资源服务产业园", "510502"),
    "510700": ("中国科技城人力资源服务产业园", "510703"),
    "510800": ("广元人力资源服务产业园", "510802"),
    "510900": ("遂宁人力资源服务产业园", "510903"),
    "511300": ("南充人力资源服务产业园", "511302"),
    "511500": ("宜宾人力资源服务产业园", "511502"),
    "511800": ("雅安人力资源服务产业园", "511802"),
}


def _linked(rng: random.Random, city_code: str, count: int) -> list[dict[str, Any]]:
    kinds = ("产业功能平台", "创新平台", "高校院所", "行业协会", "线上平台")
    short = short_name(city_code)
    return [
        {"name": f"{short}{rng.choice(FIRST_WORDS)}{kind}{i + 1}号", "kind": kind}
        for i, kind in enumerate(rng.choices(kinds, k=count))
    ]


def _key_objects(rng: random.Random, city_code: str, count: int) -> list[dict[str, Any]]:
    local = CITY_INDUSTRIES[city_code]
    short = short_name(city_code)
    objects = []
    for i in range(count):
        code = rng.choice(local)
        objects.append(
            {"name": f"{short}{industry_word(code)}重点企业{i + 1:03d}", "industry": code}
        )
    return objects


def parks(rng: random.Random) -> Iterator[NetworkSeed]:
    """The national park in Chengdu, the provincial parks the seed names, and city parks."""
    name, county = NATIONAL_PARK
    yield _park(rng, name, "national", county, CHENGDU, links=56, objects=520)
    for city_code, (name, county) in PROVINCIAL_PARKS.items():
        yield _park(rng, name, "provincial", county, city_code, links=22, objects=210)
    for city in cities():
        if city.code not in PROVINCIAL_PARKS and city.code != CHENGDU:
            county = county_pool()[city.code][0].code
            park_name = f"{short_name(city.code)}市人力资源服务产业园"
            yield _park(rng, park_name, "city", county, city.code, links=8, objects=40)


def _park(
    rng: random.Random, name: str, level: str, county: str, city: str, *, links: int, objects: int
) -> NetworkSeed:
    spread = rng.randint(-links // 5, links // 5)
    return NetworkSeed(
        "park",
        {
            "name": name,
            "level": level,
            "county_code": county,
            "industries": list(CITY_INDUSTRIES[city][:3]),
            "linked_platforms": _linked(rng, city, links + spread),
            "key_service_objects": _key_objects(rng, city, objects + rng.randint(-20, 20)),
            "description": None,
        },
        division_code=county,
    )


def markets(rng: random.Random) -> Iterator[NetworkSeed]:
    """Two professional markets named by the seed, and county markets and platform companies."""
    named = (
        ("德阳重大装备制造人力资源市场", "510603", "provincial", ("major_equipment",)),
        ("乐山文化旅游人力资源市场", "511102", "provincial", ("culture_tourism",)),
    )
    for name, code, level, industries in named:
        yield _market(rng, name, "professional_market", level, code, industries)
    for city in cities():
        pool = county_pool()[city.code]
        for county in rng.sample(pool, min(len(pool), 2 if city.code == CHENGDU else 1)):
            place = place_name(county, city)
            if rng.random() < 0.5:
                kind, name = "professional_market", f"{place}人力资源市场"
            else:
                kind, name = "state_owned_platform", f"{place}人力资源开发有限责任公司"
            yield _market(rng, name, kind, "county", county.code, CITY_INDUSTRIES[city.code][:2])


def _market(
    rng: random.Random,
    name: str,
    kind: str,
    level: str,
    county: str,
    industries: Sequence[str],
) -> NetworkSeed:
    links = {"provincial": 12, "county": 4}[level]
    return NetworkSeed(
        "market",
        {
            "name": name,
            "kind": kind,
            "level": level,
            "county_code": county,
            "industries": list(industries),
            "linked_platforms": _linked(rng, county[:4] + "00", links + rng.randint(0, 4)),
            "description": None,
        },
        division_code=county,
    )


STATION_LABELS = {"liaison_point": "联络点", "workstation": "工作站", "service_net": "服务网"}


HOSTS = ("经济技术开发区", "高新技术产业开发区", "工业园区", "产业园区", "临港经济开发区")


def stations(rng: random.Random, suppliers: Sequence[SupplierSeed]) -> Iterator[NetworkSeed]:
    """Chengdu's one sharing station per county, and stations in industrial platforms."""
    by_city: dict[str, list[SupplierSeed]] = {}
    for supplier in suppliers:
        by_city.setdefault(supplier.city_code, []).append(supplier)
    chengdu = city_named(CHENGDU)
    for county in county_pool()[CHENGDU]:
        name = f"{place_name(county, chengdu)}人力资源协同服务共享站"
        yield _station(rng, name, "sharing_station", county.code, "区(市)县人才服务中心", by_city)
    for city in cities():
        for _ in range(2 if city.code != CHENGDU else 4):
            county = county_in(rng, city.code)
            kind = rng.choice(("liaison_point", "workstation", "service_net"))
            host = f"{place_name(county, city)}{rng.choice(HOSTS)}"
            name = f"{host}人力资源服务{STATION_LABELS[kind]}"
            yield _station(rng, name, kind, county.code, host, by_city)


def _station(
    rng: random.Random,
    name: str,
    kind: str,
    county: str,
    host: str,
    by_city: dict[str, list[SupplierSeed]],
) -> NetworkSeed:
    local = by_city.get(county[:4] + "00", [])
    runner = rng.choice(local).index if local and rng.random() < 0.7 else None
    return NetworkSeed(
        "station",
        {
            "name": name,
            "kind": kind,
            "host_platform": host,
            "county_code": county,
            "supplier_id": None,
            "industries": list(CITY_INDUSTRIES[county[:4] + "00"][:2]),
            "opened_on": date(2023, 10, 1).replace(month=rng.randint(10, 12)),
            "description": None,
        },
        supplier=runner,
        division_code=county,
    )


def enterprises(rng: random.Random, per_city: int = 4) -> Iterator[NetworkSeed]:
    """Key enterprises of each city's featured industries."""
    usccs, seen = UsccMaker(rng), set()
    key = 0
    for city in cities():
        local = CITY_INDUSTRIES[city.code]
        for i in range(per_city + (4 if city.code == CHENGDU else 0)):
            county = county_in(rng, city.code)
            code = local[i % len(local)]
            name = f"{short_name(city.code)}{rng.choice(FIRST_WORDS)}{industry_word(code)}有限公司"
            while name in seen:
                name = name.replace("有限公司", f"{rng.choice(SECOND_WORDS)}有限公司", 1)
            seen.add(name)
            yield NetworkSeed(
                "enterprise",
                {
                    "name": name,
                    "uscc": usccs.make(county.code),
                    "county_code": county.code,
                    "industries": [code],
                    "description": None,
                },
                division_code=county.code,
                key=key,
            )
            key += 1


def scenarios(
    rng: random.Random,
    suppliers: Sequence[SupplierSeed],
    enterprise_seeds: Sequence[NetworkSeed],
) -> Iterator[NetworkSeed]:
    """Suppliers stationed in key enterprises (and a few major projects) of their own city."""
    listed = [s for s in suppliers if ListingAction.APPROVE in s.listing_path] or list(suppliers)
    for enterprise in enterprise_seeds:
        local = [s for s in listed if s.city_code == enterprise.division_code[:4] + "00"]
        if not local or rng.random() < 0.35:
            continue
        supplier = rng.choice(local)
        host = normalise_name(enterprise.fields["name"])
        mode = rng.choice(("point_to_point", "one_stop"))
        word = {"point_to_point": "点对点", "one_stop": "一站式"}[mode]
        yield NetworkSeed(
            "scenario",
            {
                "title": f"{normalise_name(supplier.name)}驻{host}{word}服务",
                "supplier_id": None,
                "host_kind": "key_enterprise",
                "host_name": enterprise.fields["name"],
                "enterprise_id": None,
                "mode": mode,
                "county_code": enterprise.division_code,
                "industries": enterprise.fields["industries"],
                "service_lines": list(supplier.service_lines[:2]),
                "started_on": date(2024, rng.randint(1, 12), rng.randint(1, 28)),
                "description": None,
            },
            supplier=supplier.index,
            enterprise=enterprise.key,
            division_code=enterprise.division_code,
        )


def area_kinds_of(county: Division) -> list[AreaKind]:
    """Illustrative four-kinds-of-areas classification used by the demo (see module doc)."""
    kinds = []
    if county.parent_code in ("513200", "513300", "513400") or "自治县" in county.name:
        kinds.append(AreaKind.ETHNIC)
        kinds.append(AreaKind.LIFTED_FROM_POVERTY)
    if county.parent_code == "511900":
        kinds.append(AreaKind.OLD_REVOLUTIONARY_BASE)
    if county.parent_code in ("510800", "511900"):
        kinds.append(AreaKind.BASIN_MOUNTAIN)
    return kinds


def pairings(rng: random.Random, suppliers: Sequence[SupplierSeed]) -> Iterator[NetworkSeed]:
    """Quality suppliers paired with four-kinds-of-areas counties, and association pairings."""
    areas = [c for c in counties() if area_kinds_of(c)]
    quality = [s for s in suppliers if ListingAction.APPROVE in s.listing_path] or list(suppliers)
    for supplier in rng.sample(quality, min(len(quality), max(10, len(quality) // 2))):
        county = rng.choice(areas)
        yield NetworkSeed(
            "pairing",
            {
                "kind": "supplier_area",
                "division_code": county.code,
                "supplier_id": None,
                "area_kinds": [str(k) for k in area_kinds_of(county)],
                "hr_association": None,
                "industry_association": None,
                "industries": list(supplier.industries[:1]),
                "started_on": date(2024, rng.randint(1, 12), 1),
                "description": None,
            },
            supplier=supplier.index,
            division_code=county.code,
        )
    yield _association(PROVINCE_CODE, "四川省", "liquor_food")
    for city in cities():
        yield _association(city.code, f"{short_name(city.code)}市", CITY_INDUSTRIES[city.code][0])


def _association(division: str, place: str, code: str) -> NetworkSeed:
    return NetworkSeed(
        "pairing",
        {
            "kind": "association",
            "division_code": division,
            "supplier_id": None,
            "area_kinds": [],
            "hr_association": f"{place}人力资源服务行业协会",
            "industry_association": f"{place}{industry_word(code)}产业协会",
            "industries": [code],
            "started_on": date(2024, 3, 1),
            "description": None,
        },
        division_code=division,
    )


def platforms(rng: random.Random, suppliers: Sequence[SupplierSeed]) -> Iterator[NetworkSeed]:
    """Platforms run by tech-savvy suppliers, and each node's public service platforms."""
    yield _platform("四川人力资源服务线上交易平台", "online_platform", "node", PROVINCE_CODE, None)
    yield _platform("中国成都人力资源服务产业园线上园", "online_platform", "node", "510100", None)
    for city in cities():
        name = f"{short_name(city.code)}市县乡村三级劳务服务数智化管理平台"
        yield _platform(name, "system", "node", city.code, None)
    kinds = ("online_platform", "website", "app", "mini_program", "software")
    for supplier in suppliers:
        if "hr_software" in supplier.service_lines or rng.random() < 0.08:
            kind = rng.choice(kinds)
            label = {"online_platform": "在线平台", "website": "网", "app": "APP",
                     "mini_program": "小程序", "software": "人力资源管理系统"}[kind]  # fmt: skip
            name = f"{supplier.name[:6]}{label}"
            yield _platform(name, kind, "supplier", supplier.county_code, supplier.index)


def _platform(
    name: str, kind: str, operator: str, division: str, supplier: int | None
) -> NetworkSeed:
    return NetworkSeed(
        "platform",
        {
            "name": name,
            "kind": kind,
            "operator_kind": operator,
            "supplier_id": None,
            "division_code": division,
            "url": None,
            "launched_on": date(2023, 6, 1),
            "description": None,
        },
        supplier=supplier,
        division_code=division,
    )


def network(suppliers: Sequence[SupplierSeed], seed: int = 2023) -> list[NetworkSeed]:
    """The whole support network for a generated set of suppliers, in creation order."""
    rng = random.Random(seed + 1)
    enterprise_seeds = list(enterprises(rng))
    return [
        *parks(rng),
        *markets(rng),
        *stations(rng, suppliers),
        *enterprise_seeds,
        *scenarios(rng, suppliers, enterprise_seeds),
        *pairings(rng, suppliers),
        *platforms(rng, suppliers),
    ]
