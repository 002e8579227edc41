"""Early warnings (急需紧缺预警 and pace warnings): rules kept as data, evaluated as a function.

A rule names its ``kind`` (how it is evaluated), an indicator where it watches one, and a
threshold. ``evaluate`` turns the rules and the state of the figures into the set of conditions
that hold now, by (rule, scope); the handler raises a warning for each new condition and clears
each open warning whose condition no longer holds — so each is raised once, and cleared once.
A rule whose source stream is not produced yet evaluates to nothing (and says so in the API).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shulian_reporting.domain.compute import IndicatorResult
from shulian_reporting.domain.facts import Facts
from shulian_reporting.domain.indicators import Measure, Source, Status
from shulian_reporting.domain.labels import industry_label, occupation_label
from shulian_reporting.domain.scope import city_name, scope_of
from shulian_reporting.domain.summaries import SummaryStatus, deadline
from shulian_reporting.domain.supply import Period, shortages_by_city


class RuleKind(StrEnum):
    """How a rule is evaluated."""

    BEHIND_PACE = "behind_pace"  # an indicator below threshold × its expected pace
    NONE_BY_DATE = "none_by_date"  # an indicator still zero after day ``threshold`` of the year
    SUMMARY_OVERDUE = "summary_overdue"  # a city's summary not submitted by 12-20
    SHORTAGE_RATIO = "shortage_ratio"  # a city's unmet demand per talent at or over threshold


# The streams each kind needs beyond the indicator it watches.
KIND_SOURCES: dict[RuleKind, Source | None] = {
    RuleKind.BEHIND_PACE: None,
    RuleKind.NONE_BY_DATE: None,
    RuleKind.SUMMARY_OVERDUE: None,
    RuleKind.SHORTAGE_RATIO: Source.MATCHING,
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A warning rule as stored."""

    code: str
    kind: RuleKind
    indicator: str | None
    threshold: float
    name: str
    enabled: bool = True


SEED_RULES: tuple[Rule, ...] = (
    Rule("directory_behind_pace", RuleKind.BEHIND_PACE, "directory_suppliers", 1.0,
         "名录库入库进度滞后"),
    Rule("activities_behind_pace", RuleKind.BEHIND_PACE, "city_activities", 1.0,
         "对接协同专场活动进度滞后"),
    Rule("no_province_fair_by_mid_year", RuleKind.NONE_BY_DATE, "province_activities", 182,
         "年中仍未举办省级对接协同专场活动"),
    Rule("summary_overdue", RuleKind.SUMMARY_OVERDUE, None, 0, "年度工作总结逾期未报送"),
    Rule("shortage_ratio", RuleKind.SHORTAGE_RATIO, None, 2.0, "急需紧缺预警：供需比超过阈值"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Condition:
    """A warning condition that holds: which rule, for which scope, and what to say."""

    rule_code: str
    scope_code: str
    message: str


def evaluate(
    rules: Sequence[Rule],
    *,
    year: int,
    today: date,
    results: Mapping[str, Sequence[IndicatorResult]],
    summaries: Mapping[str, SummaryStatus],
    sources: Collection[Source],
    facts: Facts | None = None,
) -> list[Condition]:
    """The conditions that hold now. ``results`` are the indicators by scope code;
    ``summaries`` the status of each city's summary of ``year`` (absent: none started);
    ``facts`` the projections, for the shortage rule (which reads orders and talents)."""
    found: list[Condition] = []
    for rule in rules:
        if not rule.enabled or not runnable(rule, sources):
            continue
        if rule.kind is RuleKind.BEHIND_PACE:
            found.extend(_behind(rule, results))
        elif rule.kind is RuleKind.NONE_BY_DATE:
            found.extend(_none_by(rule, results, year=year, today=today))
        elif rule.kind is RuleKind.SUMMARY_OVERDUE:
            found.extend(_overdue(rule, summaries, year=year, today=today))
        elif rule.kind is RuleKind.SHORTAGE_RATIO and facts is not None:
            found.extend(_shortage(rule, facts, year=year, today=today))
    return found


def runnable(rule: Rule, sources: Collection[Source]) -> bool:
    """Whether the streams the rule needs are consumed on this build."""
    from shulian_reporting.domain.indicators import BY_CODE

    needed = KIND_SOURCES[rule.kind]
    if needed is not None and needed not in sources:
        return False
    return rule.indicator is None or BY_CODE[rule.indicator].source in sources


def _watched(rule: Rule, results: Mapping[str, Sequence[IndicatorResult]]) -> list[IndicatorResult]:
    return [r for rs in results.values() for r in rs if r.indicator.code == rule.indicator]


def _behind(rule: Rule, results: Mapping[str, Sequence[IndicatorResult]]) -> list[Condition]:
    """Below threshold × pace. A count's pace asks for whole records: a city with one fair due
    in the year is behind once the whole fair is due, not from January 2nd."""
    found = []
    for r in _watched(rule, results):
        if r.status is Status.NO_SOURCE or r.expected is None or r.actual is None:
            continue
        due = r.expected * rule.threshold
        if r.indicator.measure is Measure.COUNT:
            due = math.floor(due + 1e-9)
        if r.status is not Status.MET and r.actual < due:
            found.append(
                Condition(
                    rule.code,
                    r.scope.code,
                    f"{r.scope.name}{r.indicator.name}为{r.actual:g}{r.indicator.unit}，"
                    f"低于进度要求{r.expected:g}{r.indicator.unit}（目标{r.target:g}）",
                )
            )
    return found


def _none_by(
    rule: Rule, results: Mapping[str, Sequence[IndicatorResult]], *, year: int, today: date
) -> list[Condition]:
    if (today - date(year, 1, 1)).days < rule.threshold:
        return []
    return [
        Condition(rule.code, r.scope.code, f"{r.scope.name}截至{today:%Y-%m-%d}{rule.name}")
        for r in _watched(rule, results)
        if r.actual == 0 and r.status is not Status.NO_SOURCE and r.target is not None
    ]


def _overdue(
    rule: Rule, summaries: Mapping[str, SummaryStatus], *, year: int, today: date
) -> list[Condition]:
    from shulian_common.reference import cities

    if today <= deadline(year):
        return []
    done = {SummaryStatus.SUBMITTED, SummaryStatus.APPROVED}
    return [
        Condition(
            rule.code,
            city.code,
            f"{city_name(city.code)}{year}年度工作总结应于{deadline(year):%m月%d日}前报送，尚未报送",
        )
        for city in cities()
        if summaries.get(city.code) not in done
    ]


def _shortage(rule: Rule, facts: Facts, *, year: int, today: date) -> list[Condition]:
    """Each city with a line of demand (placed this year, to ``today``) whose unmet head count
    per available talent is at or over the threshold: one warning per city, naming its lines."""
    from shulian_common.reference import PROVINCE_CODE

    period = Period(date(year, 1, 1), min(today, date(year, 12, 31)), f"{year}年")
    found = []
    for city, lines in sorted(shortages_by_city(facts, scope_of(PROVINCE_CODE), period,
                                                rule.threshold).items()):  # fmt: skip
        worst = sorted(lines, key=lambda line: -line.ratio)[:3]
        named = "；".join(
            f"{industry_label(line.industry) if line.industry else '未注明行业'}"
            f"{occupation_label(line.occupation_code)}未满足{line.unmet}人、人才供给"
            f"{line.talents}人、供需比{line.ratio:g}"
            for line in worst
        )
        found.append(
            Condition(
                rule.code, city, f"{city_name(city)}急需紧缺预警（阈值{rule.threshold:g}）：{named}"
            )
        )
    return found
