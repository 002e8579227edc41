"""One hand-computed province (the figures the tests expect are worked out in the comments).

Report: year 2024, as of 2024-06-30. The action runs 833 days (2023-09-20 → 2025-12-31); by
2024-06-30, 284 days have passed, so a cumulative target T is expected at T × 284 / 833.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from shulian_common.envelope import CloudEvent
from shulian_reporting import testing as t
from shulian_reporting.testing import streams as s

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


def stream_events() -> list[tuple[str, CloudEvent]]:
    """The events and matching snapshots of the scenario (report 2024 as of 2024-06-30).

    Province fairs: pf1 (03-15) counts; pf2 (09-10) only at year end; pf3 cancelled → 1.
    City fairs: cf1 Chengdu 2024-05-31 17:00 UTC = 06-01 Beijing → June; cf2 in 2023 → 1.
    Recruitment sessions: rs1 monthly ×4 from 03-01 09:00 Beijing, April's cancelled, May's
    moved to 07-05 → 03-01 and 06-01 by the date (3 at year end); rs2 Yibin 02-20 → 3.
    HR managers: fo1 completed with 120 (its check-in of 7 is inside that figure, not added);
    tr1 held, no outcome: its check-in of 5 counts, a confirmed-only 3 does not → 125.
    Supplier participations: rg4, rg5, rg6 (decided, then checked in: once) → 3; rg7 in
    September.
    Orders: o2 fulfilled 05-10 for 2,000,000 yuan; o4 08-01 for 500,000; o5 in 2023.
    """
    series = "FREQ=MONTHLY;COUNT=4"
    moved: list[dict[str, Any]] = [
        {"key": "20240401T010000Z", "cancelled": True, "reason": "场地冲突"},
        {"key": "20240501T010000Z", "starts_at": at(2024, 7, 5, 1).isoformat(),
         "ends_at": at(2024, 7, 5, 4).isoformat()},
    ]  # fmt: skip
    ei, pb = ["electronic_information"], ["power_batteries"]
    return [
        s.activity("pf1", kind="province_fair", starts_at=at(2024, 3, 15, 2), industries=ei),
        s.activity("pf2", kind="province_fair", starts_at=at(2024, 9, 10, 2)),
        s.activity("pf3", kind="province_fair", starts_at=at(2024, 4, 1, 2)),
        s.activity("pf3", kind="province_fair", starts_at=at(2024, 4, 1, 2), version=2,
                   verb="cancelled"),
        s.activity("cf1", kind="city_fair", city=CHENGDU, starts_at=at(2024, 5, 31, 17)),
        s.activity("cf2", kind="city_fair", city=YIBIN, starts_at=at(2023, 11, 1, 2)),
        s.activity("rs1", kind="recruitment", city=CHENGDU, starts_at=at(2024, 3, 1, 1),
                   rrule=series, industries=ei),
        s.activity("rs1", kind="recruitment", city=CHENGDU, starts_at=at(2024, 3, 1, 1),
                   rrule=series, industries=ei, version=2, verb="rescheduled", overrides=moved),
        s.activity("rs2", kind="recruitment", city=YIBIN, starts_at=at(2024, 2, 20, 2),
                   industries=pb),
        s.activity("fo1", kind="forum", city=CHENGDU, starts_at=at(2024, 4, 10, 2)),
        s.activity("fo1", kind="forum", city=CHENGDU, starts_at=at(2024, 4, 10, 2), version=2,
                   verb="completed",
                   outcome=s.outcome(positions=300, intents=40, hr_managers=120, firms=30)),
        s.activity("tr1", kind="hr_training", city=YIBIN, starts_at=at(2024, 5, 20, 2),
                   version=2, verb="held"),
        s.registration("rg1", activity_id="tr1", participant_kind="enterprise", attendees=5,
                       checked_in_at=at(2024, 5, 20, 3)),
        s.registration("rg2", activity_id="tr1", participant_kind="enterprise", attendees=3,
                       status="confirmed"),
        s.registration("rg3", activity_id="fo1", participant_kind="enterprise", attendees=7,
                       checked_in_at=at(2024, 4, 10, 3)),
        s.registration("rg4", activity_id="cf1", checked_in_at=at(2024, 5, 31, 18)),
        s.registration("rg5", activity_id="rs2", checked_in_at=at(2024, 2, 20, 3)),
        s.registration("rg6", activity_id="pf1", status="confirmed"),
        s.registration("rg6", activity_id="pf1", version=2, checked_in_at=at(2024, 3, 15, 3)),
        s.registration("rg7", activity_id="pf2", checked_in_at=at(2024, 9, 10, 3)),
        *orders(),
    ]  # fmt: skip


SOFTWARE, BATTERY = "2", "6"  # 专业技术人员, 生产制造及有关人员 (大类)


def orders() -> list[tuple[str, CloudEvent]]:
    """Matching's orders and talents of the scenario (2024).

    Demand by the date (placed on or before 06-30): Chengdu electronic information
    software engineers o1 10 (4 accepted) + o2 6 (6 placed at fulfilment); Yibin power
    batteries battery workers o3 20 (none yet); o4 Yibin placed in July. Talents: Chengdu 2
    software engineers, Yibin 1 battery worker.
    Unmet: o1+o2 16 − 10 = 6 (supply 2 → ratio 3.0); o3 20 (supply 1 → ratio 20.0).
    """
    return [
        s.order("o1", city=CHENGDU, head_count=10, occupation=SOFTWARE,
                placed_at=at(2024, 2, 1, 2)),
        s.order("o1", city=CHENGDU, head_count=10, occupation=SOFTWARE,
                placed_at=at(2024, 2, 1, 2), version=2, status="awarded", accepted=4),
        s.order("o2", city=CHENGDU, head_count=6, occupation=SOFTWARE, kind="service",
                placed_at=at(2024, 3, 1, 2), version=3, fulfilled_at=at(2024, 5, 10, 2),
                placements=6, contract_value=2_000_000),
        s.order("o3", city=YIBIN, head_count=20, industry="power_batteries",
                occupation=BATTERY, placed_at=at(2024, 4, 1, 2)),
        s.order("o4", city=YIBIN, head_count=5, industry="power_batteries", kind="service",
                occupation=BATTERY, placed_at=at(2024, 7, 1, 2), version=2,
                fulfilled_at=at(2024, 8, 1, 2), placements=5, contract_value=500_000),
        s.order("o5", city=CHENGDU, head_count=1, kind="service", occupation=None,
                placed_at=at(2023, 12, 1, 2), version=2, fulfilled_at=at(2023, 12, 20, 2),
                placements=1, contract_value=9_999),
        s.talent("tl1", city=CHENGDU, occupation=SOFTWARE),
        s.talent("tl2", city=CHENGDU, occupation=SOFTWARE),
        s.talent("tl3", city=YIBIN, occupation=BATTERY),
    ]  # fmt: skip
