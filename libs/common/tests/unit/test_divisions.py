"""Tests of the Sichuan division reference data and its lookups."""

import csv
import dataclasses
import io
from collections import Counter
from importlib import resources

import pytest

from shulian_common.reference import (
    PROVINCE_CODE,
    AreaKind,
    Division,
    DivisionLevel,
    Grouping,
    Region,
    UnknownDivisionError,
    all_divisions,
    cities,
    cities_in_grouping,
    cities_in_region,
    city_of,
    counties,
    get_division,
    groupings,
    in_scope,
    is_division,
    province,
    region_of,
)

# The 21 cities/prefectures exactly as listed in shared/DOMAIN.md (code, short name, English).
DOMAIN_CITIES = {
    "510100": ("成都", "Chengdu"),
    "510300": ("自贡", "Zigong"),
    "510400": ("攀枝花", "Panzhihua"),
    "510500": ("泸州", "Luzhou"),
    "510600": ("德阳", "Deyang"),
    "510700": ("绵阳", "Mianyang"),
    "510800": ("广元", "Guangyuan"),
    "510900": ("遂宁", "Suining"),
    "511000": ("内江", "Neijiang"),
    "511100": ("乐山", "Leshan"),
    "511300": ("南充", "Nanchong"),
    "511400": ("眉山", "Meishan"),
    "511500": ("宜宾", "Yibin"),
    "511600": ("广安", "Guang'an"),
    "511700": ("达州", "Dazhou"),
    "511800": ("雅安", "Ya'an"),
    "511900": ("巴中", "Bazhong"),
    "512000": ("资阳", "Ziyang"),
    "513200": ("阿坝州", "Ngawa (Aba)"),
    "513300": ("甘孜州", "Garzê"),
    "513400": ("凉山州", "Liangshan"),
}

# County-level divisions per city in the 2023 code lists (NBS 2023 statistical codes agree).
COUNTIES_PER_CITY = {
    "510100": 20,
    "510300": 6,
    "510400": 5,
    "510500": 7,
    "510600": 6,
    "510700": 9,
    "510800": 7,
    "510900": 5,
    "511000": 5,
    "511100": 11,
    "511300": 9,
    "511400": 6,
    "511500": 10,
    "511600": 6,
    "511700": 7,
    "511800": 8,
    "511900": 5,
    "512000": 3,
    "513200": 13,
    "513300": 18,
    "513400": 17,
}

REGION_CITIES = {
    Region.CHENGDU_PLAIN: {
        "510100", "510600", "510700", "510900", "511100", "511800", "511400", "512000",
    },
    Region.SOUTH: {"510300", "510500", "511000", "511500"},
    Region.NORTHEAST: {"510800", "511300", "511600", "511700", "511900"},
    Region.PANXI: {"510400", "513400"},
    Region.NORTHWEST: {"513200", "513300"},
}  # fmt: skip


def _csv_rows() -> list[dict[str, str]]:
    text = (
        resources.files("shulian_common.reference")
        .joinpath("data", "sichuan_divisions.csv")
        .read_text(encoding="utf-8")
    )
    return list(csv.DictReader(io.StringIO(text)))


# --- the data -------------------------------------------------------------------------------


def test_exact_counts() -> None:
    levels = Counter(d.level for d in all_divisions())
    assert levels == {DivisionLevel.PROVINCE: 1, DivisionLevel.CITY: 21, DivisionLevel.COUNTY: 183}
    assert len(cities()) == 21
    assert len(counties()) == 183


def test_county_kinds_match_2023_statistics() -> None:
    """55 districts, 19 county-level cities, 105 counties and 4 autonomous counties."""
    names = [d.name for d in counties()]
    autonomous = [n for n in names if n.endswith("自治县")]
    districts = [n for n in names if n.endswith("区")]
    county_cities = [n for n in names if n.endswith("市")]
    plain_counties = [n for n in names if n.endswith("县") and not n.endswith("自治县")]
    assert (len(districts), len(county_cities), len(plain_counties), len(autonomous)) == (
        55,
        19,
        105,
        4,
    )


def test_csv_has_no_duplicate_codes_or_names_within_a_city() -> None:
    rows = _csv_rows()
    assert len(rows) == 205
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    pairs = [(row["parent_code"], row["name"]) for row in rows]
    assert len(pairs) == len(set(pairs))


def test_no_placeholder_rows() -> None:
    assert all(d.name != "市辖区" for d in all_divisions())
    assert not is_division("510101")


def test_codes_are_six_digits_in_sichuan() -> None:
    for d in all_divisions():
        assert len(d.code) == 6, d
        assert d.code.isdigit(), d
        assert d.code.startswith("51"), d


def test_province() -> None:
    p = province()
    assert p == get_division(PROVINCE_CODE)
    assert (p.code, p.name, p.level, p.parent_code) == ("510000", "四川省", "province", None)


def test_cities_match_domain_list() -> None:
    got = {c.code: (c.short_name, c.name_en) for c in cities()}
    assert got == DOMAIN_CITIES
    assert [c.code for c in cities()] == sorted(DOMAIN_CITIES)
    for city in cities():
        assert city.level is DivisionLevel.CITY
        assert city.parent_code == PROVINCE_CODE
        assert city.code.endswith("00")
        assert city.name.endswith(("市", "州")), city


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("510100", "成都市"),
        ("511500", "宜宾市"),
        ("513200", "阿坝藏族羌族自治州"),
        ("513300", "甘孜藏族自治州"),
        ("513400", "凉山彝族自治州"),
    ],
)
def test_city_official_names(code: str, name: str) -> None:
    assert get_division(code).name == name


@pytest.mark.parametrize(("city_code", "expected"), sorted(COUNTIES_PER_CITY.items()))
def test_counties_per_city(city_code: str, expected: int) -> None:
    found = counties(city_code)
    assert len(found) == expected
    assert [d.code for d in found] == sorted(d.code for d in found)


def test_every_county_hangs_under_a_city_with_matching_prefix() -> None:
    city_codes = {c.code for c in cities()}
    for county in counties():
        assert county.level is DivisionLevel.COUNTY
        assert county.parent_code in city_codes, county
        assert county.code[:4] == county.parent_code[:4], county
        assert not county.code.endswith("00"), county
        assert county.name.endswith(("区", "县", "市")), county
        assert county.short_name is None
        assert county.name_en is None


@pytest.mark.parametrize(
    ("code", "name", "city_code"),
    [
        ("510104", "锦江区", "510100"),
        ("510116", "双流区", "510100"),
        ("510117", "郫都区", "510100"),
        ("510118", "新津区", "510100"),
        ("510185", "简阳市", "510100"),
        ("510302", "自流井区", "510300"),
        ("510402", "东区", "510400"),
        ("510604", "罗江区", "510600"),
        ("510705", "安州区", "510700"),
        ("510726", "北川羌族自治县", "510700"),
        ("510981", "射洪市", "510900"),
        ("511083", "隆昌市", "511000"),
        ("511113", "金口河区", "511100"),
        ("511132", "峨边彝族自治县", "511100"),
        ("511133", "马边彝族自治县", "511100"),
        ("511381", "阆中市", "511300"),
        ("511403", "彭山区", "511400"),
        ("511502", "翠屏区", "511500"),
        ("511504", "叙州区", "511500"),
        ("511681", "华蓥市", "511600"),
        ("511703", "达川区", "511700"),
        ("511803", "名山区", "511800"),
        ("511903", "恩阳区", "511900"),
        ("512002", "雁江区", "512000"),
        ("513201", "马尔康市", "513200"),
        ("513301", "康定市", "513300"),
        ("513401", "西昌市", "513400"),
        ("513402", "会理市", "513400"),
        ("513422", "木里藏族自治县", "513400"),
        ("513426", "会东县", "513400"),
        ("513437", "雷波县", "513400"),
    ],
)
def test_known_counties(code: str, name: str, city_code: str) -> None:
    county = get_division(code)
    assert county == Division(code, name, DivisionLevel.COUNTY, city_code)
    assert county in counties(city_code)


@pytest.mark.parametrize(
    "code",
    [
        "510124",  # 郫县 → 510117 郫都区 (2016)
        "510132",  # 新津县 → 510118 新津区 (2020)
        "510122",  # 双流县 → 510116 双流区 (2015)
        "510626",  # 罗江县 → 510604 罗江区 (2017)
        "510922",  # 射洪县 → 510981 射洪市 (2019)
        "511028",  # 隆昌县 → 511083 隆昌市 (2017)
        "511521",  # 宜宾县 → 511504 叙州区 (2018)
        "513425",  # 会理县 → 513402 会理市 (2021)
        "513229",  # 马尔康县 → 513201 马尔康市 (2015)
        "513321",  # 康定县 → 513301 康定市 (2015)
        "512081",  # 简阳市 under 资阳 → 510185 under 成都 (2016)
        "510101",  # 市辖区 placeholder
        "110000",  # another province
        "",
        "51",
        "5101000",
    ],
)
def test_superseded_and_foreign_codes_are_unknown(code: str) -> None:
    assert not is_division(code)
    with pytest.raises(UnknownDivisionError) as info:
        get_division(code)
    assert isinstance(info.value, ValueError)
    assert info.value.code == code


def test_division_is_frozen() -> None:
    county = get_division("510117")
    with pytest.raises(dataclasses.FrozenInstanceError):
        county.name = "郫县"  # type: ignore[misc]


# --- lookups --------------------------------------------------------------------------------


def test_counties_rejects_non_city_codes() -> None:
    with pytest.raises(ValueError, match="not a city"):
        counties("510117")
    with pytest.raises(ValueError, match="not a city"):
        counties(PROVINCE_CODE)
    with pytest.raises(UnknownDivisionError):
        counties("519900")


@pytest.mark.parametrize(
    ("code", "city_code"),
    [("510117", "510100"), ("510100", "510100"), ("511502", "511500"), ("513402", "513400")],
)
def test_city_of(code: str, city_code: str) -> None:
    assert city_of(code) == get_division(city_code)


def test_city_of_province_is_an_error() -> None:
    with pytest.raises(ValueError, match="province"):
        city_of(PROVINCE_CODE)
    with pytest.raises(UnknownDivisionError):
        city_of("510124")


# --- regions, groupings, kinds of areas ------------------------------------------------------


@pytest.mark.parametrize(("region", "city_codes"), list(REGION_CITIES.items()))
def test_cities_in_region(region: Region, city_codes: set[str]) -> None:
    assert {c.code for c in cities_in_region(region)} == city_codes


def test_regions_partition_the_cities() -> None:
    assert sum(len(cities_in_region(r)) for r in Region) == 21
    for city in cities():
        assert [r for r in Region if city in cities_in_region(r)] == [region_of(city.code)]


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("510117", Region.CHENGDU_PLAIN),
        ("511181", Region.CHENGDU_PLAIN),
        ("511502", Region.SOUTH),
        ("511681", Region.NORTHEAST),
        ("513402", Region.PANXI),
        ("510411", Region.PANXI),
        ("513301", Region.NORTHWEST),
        ("513200", Region.NORTHWEST),
    ],
)
def test_region_of(code: str, region: Region) -> None:
    assert region_of(code) is region


def test_region_of_province_is_an_error() -> None:
    with pytest.raises(ValueError, match="province"):
        region_of(PROVINCE_CODE)


@pytest.mark.parametrize(
    ("region", "slug", "label"),
    [
        (Region.CHENGDU_PLAIN, "chengdu_plain", "成都平原"),
        (Region.SOUTH, "south", "川南"),
        (Region.NORTHEAST, "northeast", "川东北"),
        (Region.PANXI, "panxi", "攀西"),
        (Region.NORTHWEST, "northwest", "川西北"),
    ],
)
def test_region_slugs_and_labels(region: Region, slug: str, label: str) -> None:
    assert region == slug
    assert Region(slug) is region
    assert region.label == label


def test_cities_in_region_accepts_the_slug() -> None:
    assert cities_in_region("panxi") == cities_in_region(Region.PANXI)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grouping", "label", "city_codes"),
    [
        (
            Grouping.CHENGDU_DEYANG_MEISHAN_ZIYANG,
            "成德眉资",
            ["510100", "510600", "511400", "512000"],
        ),
        (Grouping.SOUTH, "川南", ["510300", "510500", "511000", "511500"]),
        (Grouping.NORTHEAST, "川东北", ["510800", "511300", "511600", "511700", "511900"]),
        (Grouping.PANXI_LIANGSHAN, "攀西及大小凉山", ["510400", "511100", "513400"]),
        (Grouping.WESTERN_ETHNIC, "川西民族地区", ["513200", "513300", "513400"]),
    ],
)
def test_groupings(grouping: Grouping, label: str, city_codes: list[str]) -> None:
    assert grouping.label == label
    assert [c.code for c in cities_in_grouping(grouping)] == city_codes
    assert groupings()[grouping] == cities_in_grouping(grouping)


def test_groupings_cover_all_five() -> None:
    result = groupings()
    assert set(result) == set(Grouping)
    assert len(result) == 5
    for members in result.values():
        assert all(m.level is DivisionLevel.CITY for m in members)


@pytest.mark.parametrize(
    ("kind", "slug", "label"),
    [
        (AreaKind.OLD_REVOLUTIONARY_BASE, "old_revolutionary_base", "革命老区"),
        (AreaKind.LIFTED_FROM_POVERTY, "lifted_from_poverty", "脱贫地区"),
        (AreaKind.ETHNIC, "ethnic", "民族地区"),
        (AreaKind.BASIN_MOUNTAIN, "basin_mountain", "盆周山区"),
    ],
)
def test_area_kinds(kind: AreaKind, slug: str, label: str) -> None:
    assert kind == slug
    assert kind.label == label
    assert len(AreaKind) == 4


# --- scope ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "code", "expected"),
    [
        ("510000", "510000", True),
        ("510000", "510100", True),
        ("510000", "513402", True),
        ("510100", "510100", True),
        ("510100", "510117", True),
        ("510100", "510185", True),
        ("510100", "510000", False),
        ("510100", "511500", False),
        ("510100", "511502", False),
        ("511500", "511502", True),
        ("511502", "511502", True),
        ("511502", "511500", False),
        ("511502", "511503", False),
        ("511502", "510000", False),
    ],
)
def test_in_scope(scope: str, code: str, expected: bool) -> None:
    assert in_scope(scope, code) is expected


def test_in_scope_every_county_is_in_its_city_only() -> None:
    for county in counties():
        inside = [c.code for c in cities() if in_scope(c.code, county.code)]
        assert inside == [county.parent_code]


@pytest.mark.parametrize(("scope", "code"), [("510124", "510100"), ("510100", "510124")])
def test_in_scope_unknown_codes_raise(scope: str, code: str) -> None:
    with pytest.raises(UnknownDivisionError):
        in_scope(scope, code)


def test_data_files_ship_inside_the_package() -> None:
    data = resources.files("shulian_common.reference").joinpath("data")
    assert data.joinpath("sichuan_divisions.csv").is_file()
    assert data.joinpath("README.md").is_file()
