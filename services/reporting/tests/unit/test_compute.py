"""Figures from facts, without a database: coverage dates, per-record minimums, shares, scopes."""

from __future__ import annotations

from datetime import date

from shulian_reporting.domain.compute import compute_all
from shulian_reporting.domain.facts import Facts, Figure, NetworkFact, NetworkKind, SupplierFact
from shulian_reporting.domain.indicators import Source, Status
from shulian_reporting.domain.scope import ScopeLevel, scope_of

CHENGDU, YIBIN = "510100", "511500"
PROVINCE = scope_of("510000")


def _net(rid: str, kind: NetworkKind, city: str, since: date, **kw: object) -> NetworkFact:
    return NetworkFact(rid, kind, kw.pop("subtype", None), kw.pop("level", None),  # type: ignore[arg-type]
                       f"{city[:4]}02", city, since, **kw)  # type: ignore[arg-type]  # fmt: skip


def _results(facts: Facts, day: date, scope: str = "510000", **targets: float) -> dict[str, object]:
    found = compute_all(
        facts,
        scope=scope_of(scope),
        year=day.year,
        today=day,
        targets={(code, scope): value for code, value in targets.items()},
        sources={Source.REGISTRY},
    )
    return {r.indicator.code: r for r in found}


def test_a_city_is_covered_from_the_day_it_has_both_a_park_and_a_market() -> None:
    facts = Facts(network=(
        _net("p", NetworkKind.PARK, CHENGDU, date(2024, 2, 1), level="provincial"),
        _net("m", NetworkKind.MARKET, CHENGDU, date(2024, 5, 1), level="national",
             subtype="professional_market"),
        _net("p2", NetworkKind.PARK, YIBIN, date(2024, 1, 1), level="city"),  # city level: no
        _net("m2", NetworkKind.MARKET, YIBIN, date(2024, 1, 1), level="provincial",
             subtype="professional_market"),
    ))  # fmt: skip
    april = _results(facts, date(2024, 4, 30))["park_market_coverage"]
    may = _results(facts, date(2024, 5, 1))["park_market_coverage"]
    assert april.actual == 0  # type: ignore[attr-defined]
    assert may.actual == 1  # type: ignore[attr-defined]
    assert may.by_month[5] == 1  # type: ignore[attr-defined]


def test_each_park_must_reach_the_bar_so_the_weakest_one_counts() -> None:
    facts = Facts(network=(
        _net("a", NetworkKind.PARK, CHENGDU, date(2024, 1, 1), level="national",
             linked_platforms=80),
        _net("b", NetworkKind.PARK, YIBIN, date(2024, 1, 1), level="national",
             linked_platforms=40),
    ))  # fmt: skip
    result = _results(facts, date(2026, 1, 1), national_park_platforms=50)
    r = result["national_park_platforms"]
    assert (r.actual, r.status, r.by_city[CHENGDU], r.by_city[YIBIN]) == (  # type: ignore[attr-defined]
        40, Status.BEHIND, 80, 40,
    )  # fmt: skip


def test_the_high_end_share_weighs_revenue_by_service_line_for_the_year_only() -> None:
    facts = Facts(suppliers=(
        SupplierFact("s", CHENGDU, "not_applied", None, (), (
            Figure(2024, "consulting", 360, 0),
            Figure(2024, "labour_dispatch", 640, 0),
            Figure(2023, "consulting", 5000, 0),
        )),
    ))  # fmt: skip
    share = _results(facts, date(2024, 12, 31), high_end_share=35)["high_end_share"]
    assert (share.actual, share.status) == (36.0, Status.MET)  # type: ignore[attr-defined]


def test_events_indicators_have_no_source_and_no_figure() -> None:
    results = _results(Facts(), date(2024, 3, 1), recruitment_sessions=200)
    sessions = results["recruitment_sessions"]
    assert (sessions.actual, sessions.status, sessions.target) == (None, Status.NO_SOURCE, 200)  # type: ignore[attr-defined]


def test_scopes() -> None:
    assert scope_of("south").level is ScopeLevel.REGION
    assert scope_of("south").city_codes == ("510300", "510500", "511000", "511500")
    assert scope_of(CHENGDU).covers(CHENGDU)
    assert not scope_of(CHENGDU).covers(None)
    assert PROVINCE.covers(None)
    assert len(PROVINCE.city_codes) == 21
