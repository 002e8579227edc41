"""The demo generator: deterministic, believable, valid."""

from __future__ import annotations

import random
from collections import Counter

from shulian_common.reference import cities, validate_uscc
from shulian_common.reference.taxonomy import is_industry, is_service_line
from shulian_registry.demo import generate, network
from shulian_registry.demo.bulk import final_status, supplier_row, term_rows


def test_the_same_seed_gives_the_same_province() -> None:
    first = list(generate(50, seed=7))
    assert first == list(generate(50, seed=7))
    assert first != list(generate(50, seed=8))


def test_suppliers_are_valid_distinct_and_spread_over_all_cities() -> None:
    suppliers = list(generate(800))
    assert len({s.uscc for s in suppliers}) == len({s.name for s in suppliers}) == 800
    for supplier in suppliers:
        assert validate_uscc(supplier.uscc)[2:8] == supplier.county_code
        assert all(is_service_line(line) for line in supplier.service_lines)
        assert all(is_industry(code) for code in supplier.industries)
        assert set(supplier.listing_industries) <= set(supplier.industries)
        assert set(supplier.listing_fields) <= set(supplier.service_lines)
    per_city = Counter(s.city_code for s in suppliers)
    assert set(per_city) == {city.code for city in cities()}
    assert per_city.most_common(1)[0][0] == "510100"  # Chengdu hosts the most
    statuses = Counter(final_status(s) for s in suppliers)
    assert {"not_applied", "applied", "under_review", "listed", "suspended"} <= set(statuses)


def test_the_network_is_complete_and_refers_to_generated_records() -> None:
    suppliers = list(generate(300))
    records = network(suppliers)
    kinds = Counter(r.kind for r in records)
    assert set(kinds) == {
        "park", "market", "station", "enterprise", "scenario", "pairing", "platform",
    }  # fmt: skip
    parks = [r.fields for r in records if r.kind == "park"]
    assert {p["level"] for p in parks} == {"national", "provincial", "city"}
    assert len({p["county_code"][:4] for p in parks}) == 21  # a park in every city
    sharing = [r for r in records if r.kind == "station" and r.fields["kind"] == "sharing_station"]
    assert len(sharing) == len({r.division_code for r in sharing}) == 20
    enterprises = {r.key for r in records if r.kind == "enterprise"}
    assert all(r.enterprise in enterprises for r in records if r.kind == "scenario")
    assert all(r.supplier is None or r.supplier < 300 for r in records)
    pairings = [r.fields for r in records if r.kind == "pairing"]
    area = [p for p in pairings if p["kind"] == "supplier_area"]
    assert area
    assert all(p["area_kinds"] for p in area)


def test_bulk_rows_carry_the_same_terms_the_handlers_write() -> None:
    [seed] = list(generate(1, seed=3))
    row = supplier_row(seed, node_id="510000", rng=random.Random(0))
    terms = {t["term"] for t in term_rows(row)}
    assert row["high_end"] == any(
        line in ("headhunting", "assessment", "consulting", "hr_software")
        for line in seed.service_lines
    )
    assert f"c:{seed.city_code}" in terms
    assert f"s:{row['listing_status']}" in terms
    assert isinstance(row["figures"][0]["revenue_yuan"], int)
