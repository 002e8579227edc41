"""Search terms of a supplier and the parsing of free Chinese text."""

from __future__ import annotations

import pytest

from shulian_registry.terms import (
    MAX_WORDS,
    SupplierFacts,
    filter_groups,
    name_terms,
    normalise_name,
    parse_query,
    supplier_terms,
    vocabulary,
)

FACTS = SupplierFacts(
    name="宜宾蜀才人力资源有限公司",
    uscc="91511502MA6GX0Q320",
    county_code="511502",
    city_code="511500",
    region="south",
    industries=("power_batteries",),
    service_lines=("headhunting",),
    listing_status="listed",
    high_end=True,
    owner_node="511500",
)


def test_a_supplier_is_indexed_by_codes_and_name_bigrams() -> None:
    terms = supplier_terms(FACTS)
    assert {
        "c:511500",
        "d:511502",
        "r:south",
        "i:power_batteries",
        "l:headhunting",
        "s:listed",
        "h:1",
        "o:511500",
        "u:91511502MA6GX0Q320",
        "n:宜宾",
        "n:蜀才",
        "n:资源",
    } <= terms
    assert "n:公司" not in terms  # the legal form is not indexed


def test_names_lose_punctuation_and_legal_form() -> None:
    assert normalise_name("（宜宾）蜀才 人力资源股份有限公司") == "宜宾蜀才人力资源"
    assert normalise_name("ABC人才有限责任公司") == "abc人才"
    assert name_terms("华西") == {"n:华西"}


@pytest.mark.parametrize(
    ("query", "groups"),
    [
        ("猎头", [{"l:headhunting", "n:猎头"}]),
        ("宜宾 动力电池", [{"c:511500", "n:宜宾"}, {"i:power_batteries"}]),
        ("宜宾动力电池", [{"c:511500", "n:宜宾"}, {"i:power_batteries"}]),
        ("凉山州 劳务派遣", [{"c:513400"}, {"l:labour_dispatch"}]),
        ("锦江区", [{"d:510104"}]),
        ("川南", [{"r:south", "n:川南"}]),
        ("化工", [{"i:energy_chemicals", "i:new_chemicals", "i:oil_gas_chemicals", "n:化工"}]),
        ("华西猎头", [{"n:华西"}, {"l:headhunting", "n:猎头"}]),
        ("蜀才人力", [{"n:蜀才"}, {"n:才人"}, {"n:人力"}]),
        ("91511502MA6GX0Q320", [{"u:91511502MA6GX0Q320"}]),
        ("有限公司", []),
        ("  ", []),
    ],
)
def test_free_text_becomes_term_groups(query: str, groups: list[set[str]]) -> None:
    parsed = parse_query(query)
    assert [set(g) for g in parsed.groups] == groups
    assert parsed.name_fragments == ()


def test_a_lone_unknown_character_matches_inside_names() -> None:
    parsed = parse_query("蜀 猎头")
    assert parsed.name_fragments == ("蜀",)
    assert [set(g) for g in parsed.groups] == [{"l:headhunting", "n:猎头"}]


def test_queries_are_bounded() -> None:
    words = " ".join(f"词{i}号" for i in range(MAX_WORDS + 5))
    assert len(parse_query(words).groups) <= MAX_WORDS * 2


def test_the_vocabulary_knows_places_industries_and_lines() -> None:
    known = vocabulary()
    assert known["成都"] == {"c:510100"}
    assert known["峨边"] == {"d:511132"}  # 峨边彝族自治县
    assert known["阿坝"] >= {"c:513200"}
    assert known["光伏"] == {"i:crystalline_pv"}
    assert known["测评"] == {"l:assessment"}
    assert all(len(word) >= 2 for word in known)


def test_filters_become_groups_of_alternatives() -> None:
    groups = filter_groups(
        city=["510100", "511500"], industry=["liquor_food"], status=[], high_end=False
    )
    assert [set(g) for g in groups] == [{"c:510100", "c:511500"}, {"i:liquor_food"}, {"h:0"}]
