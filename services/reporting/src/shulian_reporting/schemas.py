"""HTTP models of reporting: indicators, targets, warnings, the supervision notice, summaries,
supply-demand lists and shortage catalogues."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shulian_common.schemas import RecordRead, Strict
from shulian_reporting.domain.compute import IndicatorResult
from shulian_reporting.domain.labels import industry_label, occupation_label
from shulian_reporting.domain.scope import city_name
from shulian_reporting.domain.summaries import SECTIONS
from shulian_reporting.domain.supply import Line


class IndicatorRead(BaseModel):
    """One indicator for a scope and year: target, actual, share, pace, status, breakdowns."""

    code: str = Field(examples=["directory_suppliers"])
    name: str = Field(examples=["重点人力资源服务供应商名录库在库企业"])
    unit: str = Field(examples=["户"])
    source: str = Field(description="the service whose streams it is computed from")
    period: str = Field(description="`cumulative` (by end-2025) or `yearly`")
    comparison: str = Field(description="`at_least` (≥), `about` (≈) or `more_than` (>)")
    basis: str = Field(description="the notice's wording")
    scope: str
    scope_name: str
    year: int
    as_of: date
    target: float | None
    actual: float | None = Field(description="absent when no service produces its source yet")
    share: float | None = Field(description="actual over target, percent")
    expected: float | None = Field(description="what the pace asks for at `as_of`")
    status: str = Field(description="met, on_track, behind, no_target or no_source")
    status_label: str = Field(examples=["进度正常"])
    records: int
    by_city: dict[str, float]
    by_industry: dict[str, float]
    by_month: dict[int, float]

    @classmethod
    def of(cls, r: IndicatorResult) -> IndicatorRead:
        """The API shape of a computed indicator."""
        ind = r.indicator
        return cls(
            code=ind.code,
            name=ind.name,
            unit=ind.unit,
            source=ind.source.value,
            period=ind.period.value,
            comparison=ind.comparison.value,
            basis=ind.basis,
            scope=r.scope.code,
            scope_name=r.scope.name,
            year=r.year,
            as_of=r.as_of,
            target=r.target,
            actual=r.actual,
            share=r.share,
            expected=r.expected,
            status=r.status.value,
            status_label=r.status.label,
            records=r.records,
            by_city=r.by_city,
            by_industry=r.by_industry,
            by_month=r.by_month,
        )


class TargetRead(RecordRead):
    """A target of one indicator for one scope."""

    indicator: str
    scope_code: str
    value: float
    note: str | None


class TargetCreate(Strict):
    """A target where none is yet."""

    indicator: str = Field(examples=["directory_suppliers"])
    scope_code: str = Field(examples=["511500"], description="510000, a region code or a city")
    value: float = Field(ge=0)
    note: str | None = Field(default=None, max_length=500)


class TargetUpdate(Strict):
    """A target's new value."""

    value: float = Field(ge=0, examples=[520])
    note: str | None = Field(default=None, max_length=500)


class WarningRead(RecordRead):
    """A warning, open or cleared."""

    rule_code: str
    scope_code: str
    year: int
    message: str
    raised_at: datetime
    cleared_at: datetime | None


class RuleRead(BaseModel):
    """A warning rule and whether this build can evaluate it."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    kind: str
    indicator: str | None
    threshold: float
    enabled: bool
    name: str
    evaluated: bool = Field(description="false while a stream it needs is not produced yet")
    note: str | None = None


class EvaluationRead(BaseModel):
    """What an evaluation of the rules changed."""

    raised: list[WarningRead]
    cleared: list[WarningRead]


class CityRankRead(BaseModel):
    """One line of the supervision notice."""

    model_config = ConfigDict(from_attributes=True)

    rank: int
    city_code: str
    city_name: str
    completion: float | None = Field(description="mean share of targets met, percent")
    met: int
    on_track: int
    behind: int
    assessed: int


class SupervisionRead(BaseModel):
    """The supervision notice (调度通报): the 21 cities ranked by task completion."""

    year: int
    as_of: date
    cities: list[CityRankRead]


class SummaryWrite(Strict):
    """A city's narrative sections of its annual summary."""

    sections: dict[str, str] = Field(
        description=f"by heading: {', '.join(SECTIONS)}",
        examples=[{SECTIONS[0]: "全年举办对接活动3场……"}],
    )


class SummaryDecision(Strict):
    """The province's comment when it approves or returns a summary."""

    comment: str | None = Field(default=None, max_length=2000)


class SummaryRead(RecordRead):
    """A city's annual work summary."""

    city_code: str
    year: int
    status: str
    sections: dict[str, str]
    comment: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    late: bool = False
    overdue: bool = False


class SummaryStateRead(BaseModel):
    """Where each city's summary of a year stands."""

    city_code: str
    city_name: str
    status: str | None
    status_label: str
    overdue: bool
    late: bool
    owner_node: str | None = Field(
        default=None, description="the node that holds the summary (None: not started)"
    )


class SupplyDemandLineRead(BaseModel):
    """One line of a supply-demand list: demand against supply for a city, industry and
    occupation (``city_code`` absent on catalogue lines, which cover the province)."""

    city_code: str | None
    city_name: str | None
    industry: str | None
    industry_name: str
    occupation_code: str | None
    occupation_name: str
    orders: int
    demand: int = Field(description="head count asked by the orders")
    filled: int = Field(description="placements at fulfilment, else talents accepted")
    unmet: int
    talents: int = Field(description="talents of the occupation in the city")
    suppliers: int = Field(description="listed suppliers of the city serving the industry")
    gap: int = Field(description="unmet head count the talents at hand cannot cover (缺口)")
    shortage_ratio: float = Field(description="unmet head count per available talent")

    @classmethod
    def of(cls, line: Line) -> SupplyDemandLineRead:
        """The API shape of a line."""
        return cls(
            city_code=line.city_code,
            city_name=city_name(line.city_code) if line.city_code else None,
            industry=line.industry,
            industry_name=industry_label(line.industry) if line.industry else "未注明行业",
            occupation_code=line.occupation_code,
            occupation_name=occupation_label(line.occupation_code),
            orders=line.orders,
            demand=line.demand,
            filled=line.filled,
            unmet=line.unmet,
            talents=line.talents,
            suppliers=line.suppliers,
            gap=line.gap,
            shortage_ratio=line.ratio,
        )


class SupplyDemandRead(BaseModel):
    """The supply-demand list (供需清单) of a scope for a period."""

    scope: str
    scope_name: str
    period: str = Field(examples=["2024年第2季度"])
    start: date
    end: date
    lines: list[SupplyDemandLineRead]
    totals: dict[str, int]


class CatalogueEntryRead(SupplyDemandLineRead):
    """One occupation of the shortage catalogue: its rank and shortage level."""

    rank: int
    level: str = Field(examples=["high"])
    level_name: str = Field(examples=["紧缺"])


class CatalogueRead(BaseModel):
    """A year's shortage catalogue (急需紧缺人才目录): a draft, or a published edition."""

    year: int
    published: bool
    edition: int | None = Field(description="the published edition (absent on a draft)")
    published_at: datetime | None
    entries: list[CatalogueEntryRead]


class ShortageLevelRead(RecordRead):
    """A shortage level of the catalogue: reached from ``min_ratio`` up."""

    code: str
    name: str
    min_ratio: float


class ShortageLevelUpdate(Strict):
    """A shortage level's new name and threshold."""

    name: str = Field(min_length=1, max_length=40, examples=["紧缺"])
    min_ratio: float = Field(gt=0, examples=[2.0])


class TallyRead(BaseModel):
    """What a group of activities adds up to."""

    model_config = ConfigDict(from_attributes=True)

    sessions: int = Field(description="standing occurrences (场次)")
    positions_offered: int
    intents_signed: int
    hr_managers_attended: int = Field(description="person-times")


class ActivityFiguresRead(BaseModel):
    """The activity calendar of a scope and year in figures."""

    model_config = ConfigDict(from_attributes=True)

    scope: str
    scope_name: str
    year: int
    as_of: date
    total: TallyRead
    by_kind: dict[str, TallyRead]
    by_level: dict[str, TallyRead]
    by_city: dict[str, TallyRead]
    by_month: dict[int, TallyRead]
    kind_names: dict[str, str] = Field(description="the Chinese name of each kind")
