"""The indicator table of the special action (DOMAIN.md), its pace and its status.

Each row of the policy's table is an ``Indicator``: what is counted, from which stream, over
which period, compared how with its target. Targets themselves are data (the ``targets`` table,
seeded from ``POLICY_TARGETS`` and editable by the province); the rules for pace and status are
here, as plain functions, so the whole matrix is unit-tested.

Pace: a cumulative indicator (due by the end of 2025) is expected to grow linearly from the day
the notice was issued (2023-09-20) to 2025-12-31; a yearly one linearly over its year. A share
is a level, not a stock: it is expected at its target all along.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Source(StrEnum):
    """The service whose streams an indicator is computed from."""

    REGISTRY = "registry"
    EVENTS = "events"
    MATCHING = "matching"


class Period(StrEnum):
    """Cumulative by the end of 2025 (``cumulative``), or counted afresh each year (``yearly``)."""

    CUMULATIVE = "cumulative"
    YEARLY = "yearly"


class Measure(StrEnum):
    """How the records of an indicator add up."""

    COUNT = "count"  # distinct records (or counties, suppliers, cities)
    SUM = "sum"  # a sum of amounts
    MINIMUM = "minimum"  # the weakest record: "each park links at least N" holds iff min ≥ N
    SHARE = "share"  # a percentage: part over whole


class Comparison(StrEnum):
    """How the actual figure meets the target: 不少于 / 左右 / 超过."""

    AT_LEAST = "at_least"
    ABOUT = "about"
    MORE_THAN = "more_than"

    @property
    def symbol(self) -> str:
        """The sign printed before a target."""
        return {"at_least": "≥", "about": "≈", "more_than": ">"}[self.value]


class Status(StrEnum):
    """Where an indicator stands at the report's date."""

    MET = "met"
    ON_TRACK = "on_track"
    BEHIND = "behind"
    NO_TARGET = "no_target"
    NO_SOURCE = "no_source"

    @property
    def label(self) -> str:
        """The Chinese status officials read."""
        return STATUS_LABELS[self]


STATUS_LABELS: dict[Status, str] = {
    Status.MET: "达标",
    Status.ON_TRACK: "进度正常",
    Status.BEHIND: "滞后",
    Status.NO_TARGET: "未设目标",
    Status.NO_SOURCE: "暂无数据来源",
}

ACTION_START = date(2023, 9, 20)  # the notice's date: the action's clock starts here
ACTION_END = date(2025, 12, 31)  # "十四五"末


@dataclass(frozen=True, slots=True)
class Indicator:
    """One row of the indicator table."""

    code: str
    name: str
    unit: str
    source: Source
    period: Period
    measure: Measure
    comparison: Comparison
    policy_target: float  # the province's target in the notice
    # The notice's own wording, quoted in exports.
    basis: str

    @property
    def paced(self) -> bool:
        """Whether the indicator is expected to grow towards its target over its period."""
        return self.measure is not Measure.SHARE


def _ind(
    code: str,
    name: str,
    unit: str,
    source: Source,
    period: Period,
    measure: Measure,
    comparison: Comparison,
    target: float,
    basis: str,
) -> Indicator:
    return Indicator(code, name, unit, source, period, measure, comparison, target, basis)


R, E = Source.REGISTRY, Source.EVENTS
CUM, YEAR = Period.CUMULATIVE, Period.YEARLY
COUNT, SUM, MIN, SHARE = Measure.COUNT, Measure.SUM, Measure.MINIMUM, Measure.SHARE
GE, ABOUT, GT = Comparison.AT_LEAST, Comparison.ABOUT, Comparison.MORE_THAN

INDICATORS: tuple[Indicator, ...] = (
    _ind("directory_suppliers", "重点人力资源服务供应商名录库在库企业", "户", R, CUM, COUNT, GE,
         500, "“十四五”末在库企业不少于500户"),
    _ind("scenarios", "深度协同典型应用场景", "个", R, CUM, COUNT, ABOUT,
         100, "“十四五”末形成100个左右深度协同典型应用场景"),
    _ind("stations", "人力资源服务联络点、工作站、服务网", "个", R, CUM, COUNT, GE,
         50, "“十四五”末不少于50个"),
    _ind("strong_counties", "打造专业性人力资源市场或国有人力资源平台公司的县", "个", R, CUM,
         COUNT, ABOUT, 20, "支持20个左右经济强县、产业强县、人口大县"),
    _ind("paired_suppliers", "与“四类地区”建立对口合作的优质人力资源服务企业", "家", R, CUM,
         COUNT, ABOUT, 150, "组织150家左右优质人力资源服务企业"),
    _ind("park_market_coverage", "国家、省级产业园和专业性市场覆盖市(州)", "个", R, CUM, COUNT,
         GE, 21, "“十四五”末实现市州“全覆盖”"),
    _ind("national_park_platforms", "国家级产业园链接平台数(每园最少)", "个", R, CUM, MIN, GE,
         50, "国家级产业园链接平台数不少于50个"),
    _ind("national_market_platforms", "国家级市场链接平台数(每个最少)", "个", R, CUM, MIN, GE,
         30, "国家级市场链接平台数不少于30个"),
    _ind("provincial_park_platforms", "省级产业园链接平台数(每园最少)", "个", R, CUM, MIN, GE,
         20, "省级产业园链接平台数不少于20个"),
    _ind("provincial_market_platforms", "省级市场链接平台数(每个最少)", "个", R, CUM, MIN, GE,
         10, "省级市场链接平台数不少于10个"),
    _ind("national_park_service_objects", "国家级产业园重点服务对象(每园最少)", "家", R, CUM,
         MIN, GE, 500, "国家级产业园“重点服务对象清单”不少于500家"),
    _ind("provincial_park_service_objects", "省级产业园重点服务对象(每园最少)", "家", R, CUM,
         MIN, GE, 200, "省级产业园“重点服务对象清单”不少于200家"),
    _ind("trade_volume", "人力资源服务贸易总额", "元", R, YEAR, SUM, GT,
         1_000_000_000, "“十四五”末全省人力资源服务贸易总额突破10亿元"),
    _ind("high_end_share", "中高端业态市场份额占比", "%", R, YEAR, SHARE, GT,
         35, "“十四五”末中高端业态市场份额占比超过35%"),
    _ind("hr_manager_participations", "重点企业人力资源管理人员参加展会论坛、考察、培训", "人次",
         E, YEAR, SUM, GE, 1000, "每年不少于1000人次"),
    _ind("platforms", "人力资源信息化支撑平台", "个", R, CUM, COUNT, GT,
         2000, "“十四五”末全省人力资源信息化支撑平台数量超过2000个"),
    _ind("province_activities", "省级对接协同专场活动", "场", E, YEAR, COUNT, GE,
         2, "省级厅局层面每年举办不少于2场"),
    _ind("city_activities", "市(州)对接协同专场活动", "场", E, YEAR, COUNT, GE,
         1, "各市(州)原则上不少于1场"),
    _ind("supplier_participations", "人力资源服务企业参与活动", "家次", E, YEAR, SUM, GE,
         2000, "每年人力资源服务参与企业不少于2000家次"),
    _ind("recruitment_sessions", "重点特色产业招聘引才专场", "场次", E, YEAR, COUNT, GE,
         200, "每年不少于200场次"),
)  # fmt: skip

BY_CODE: dict[str, Indicator] = {indicator.code: indicator for indicator in INDICATORS}

# Targets the notice sets per city rather than for the province as a whole.
PER_CITY_POLICY_TARGETS = frozenset({"city_activities"})


def indicator(code: str) -> Indicator:
    """The indicator with this code (``KeyError`` when unknown)."""
    return BY_CODE[code]


def report_date(year: int, today: date) -> date:
    """The date a report for ``year`` stands at: today within the year, else its last day."""
    return min(max(today, date(year, 1, 1)), date(year, 12, 31))


def elapsed_fraction(period: Period, year: int, as_of: date) -> float:
    """How far through its period an indicator is at ``as_of`` (0 to 1)."""
    if period is Period.YEARLY:
        start, end = date(year, 1, 1), date(year, 12, 31)
    else:
        start, end = ACTION_START, ACTION_END
    if as_of >= end:
        return 1.0
    if as_of <= start:
        return 0.0
    return (as_of - start).days / (end - start).days


def expected_at(ind: Indicator, target: float, year: int, as_of: date) -> float:
    """The figure the pace asks for at ``as_of``."""
    if not ind.paced:
        return target
    return target * elapsed_fraction(ind.period, year, as_of)


def meets(ind: Indicator, actual: float, target: float) -> bool:
    """Whether ``actual`` meets ``target`` (超过 needs strictly more; 左右 and 不少于 reach it)."""
    if ind.comparison is Comparison.MORE_THAN:
        return actual > target
    return actual >= target


def status_of(
    ind: Indicator, *, actual: float, target: float | None, expected: float | None
) -> Status:
    """达标 when the target is met, 进度正常 when at or above pace, else 滞后;
    未设目标 without a target."""
    if target is None or expected is None:
        return Status.NO_TARGET
    if meets(ind, actual, target):
        return Status.MET
    # Once the pace asks for the whole target (the period is over), only meeting it will do.
    if ind.paced and expected < target and actual >= expected:
        return Status.ON_TRACK
    return Status.BEHIND
