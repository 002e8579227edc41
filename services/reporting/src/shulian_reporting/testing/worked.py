"""One hand-computed province (the figures the tests expect are worked out in the comments).

Report: year 2024, as of 2024-06-30. The action runs 833 days (2023-09-20 → 2025-12-31); by
2024-06-30, 284 days have passed, so a cumulative target T is expected at T × 284 / 833.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shulian_common.envelope import CloudEvent
from shulian_reporting import testing as t

AS_OF = date(2024, 6, 30)
CHENGDU, YIBIN, DEYANG, MIANYANG, GARZE = "510100", "511500", "510600", "510700", "513300"
FRACTION = 284 / 833


def at(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A UTC time."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def events() -> list[tuple[str, CloudEvent]]:
    """Every registry event of the scenario, in publishing order."""
    figures = [
        # 2024: revenue 400 (headhunting, high-end) + 600 + 1000 (s3) = 2000 → 20 % high-end;
        # trade 100 + 50 = 150 yuan.
        t.figure(2024, "headhunting", 400, 100),
        t.figure(2024, "recruitment", 600, 50),
        t.figure(2023, "recruitment", 9999, 9999),  # another year: never counted for 2024
    ]
    ei = ["electronic_information"]
    mianyang_county = t.county_in(MIANYANG)
    return [
        # s1, Chengdu: listed 2024-03-10 10:00 Beijing.
        t.supplier("s1", city=CHENGDU),
        t.supplier("s1", city=CHENGDU, version=2, verb="listing_changed", status="listed",
                   decided_at=at(2024, 3, 10, 2), listing_industries=ei, figures=figures),
        # s2, Chengdu: listed 2024-05-31 17:00 UTC = 2024-06-01 01:00 Beijing → June.
        t.supplier("s2", city=CHENGDU, version=2, verb="listing_changed", status="listed",
                   decided_at=at(2024, 5, 31, 17),
                   listing_industries=[*ei, "digital_economy"]),
        # s3, Yibin: listed in February; a later profile update keeps the listing date.
        t.supplier("s3", city=YIBIN, version=2, verb="listing_changed", status="listed",
                   decided_at=at(2024, 2, 1, 4), listing_industries=["power_batteries"],
                   figures=[t.figure(2024, "recruitment", 1000)]),
        t.supplier("s3", city=YIBIN, version=3, verb="updated", status="listed",
                   at=at(2024, 4, 1), listing_industries=["power_batteries"],
                   figures=[t.figure(2024, "recruitment", 1000)]),
        # s4, Yibin: listed after the report's date.
        t.supplier("s4", city=YIBIN, version=2, verb="listing_changed", status="listed",
                   decided_at=at(2024, 7, 15, 4)),
        # s5, Deyang: listed, then suspended: not in the directory.
        t.supplier("s5", city=DEYANG, version=2, verb="listing_changed", status="listed",
                   decided_at=at(2024, 1, 10, 4)),
        t.supplier("s5", city=DEYANG, version=3, verb="listing_changed", status="suspended",
                   decided_at=at(2024, 4, 10, 4)),
        # Parks and markets: Chengdu and Yibin are covered (park and professional market, both
        # national/provincial); Deyang has only a park.
        t.park("p1", city=CHENGDU, level="national", linked=60, objects=520),
        t.park("p2", city=YIBIN, level="provincial", linked=12, objects=150),
        t.park("p3", city=DEYANG, level="provincial", linked=25, objects=210),
        t.market("m1", city=CHENGDU, kind="professional_market", level="national", linked=31),
        t.market("m2", city=YIBIN, kind="professional_market", level="provincial", linked=8),
        # Strong counties: m1's, m2's and one Mianyang county (two markets there) → 3.
        t.market("m3", city=MIANYANG, kind="state_owned_platform", level="county",
                 county=mianyang_county),
        t.market("m4", city=MIANYANG, kind="professional_market", level="county",
                 county=mianyang_county),
        t.market("m5", city=MIANYANG, kind="talent_market", level="city"),
        # Stations: one workstation by the date; a sharing station is not one of the three kinds;
        # a liaison point opens after the date.
        t.station("st1", city=CHENGDU, kind="workstation", opened_on=date(2024, 4, 2)),
        t.station("st2", city=CHENGDU, kind="sharing_station", opened_on=date(2024, 4, 2)),
        t.station("st3", city=YIBIN, kind="liaison_point", opened_on=date(2024, 8, 1)),
        # Scenarios: 2 (one dated by its start, one by when it was recorded, 2024-01-01).
        t.scenario("sc1", city=YIBIN, supplier_id="s3", started_on=date(2024, 5, 5),
                   industries=["power_batteries"]),
        t.scenario("sc2", city=CHENGDU, supplier_id="s1"),
        # Pairings: suppliers s1 (twice) and s3 → 2; an association pairing has no supplier.
        t.pairing("pa1", city=GARZE, supplier_id="s1"),
        t.pairing("pa2", city="513200", supplier_id="s1"),
        t.pairing("pa3", city=GARZE, supplier_id="s3"),
        t.pairing("pa4", city=GARZE, supplier_id=None, kind="association"),
        # Platforms: one in Chengdu, one province-level (counted for the province only).
        t.platform("pl1", city=CHENGDU),
        t.platform("pl2", city=None),
        t.enterprise("e1", city=CHENGDU),
    ]  # fmt: skip


def by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Indicator rows by code."""
    return {row["code"]: row for row in rows}
