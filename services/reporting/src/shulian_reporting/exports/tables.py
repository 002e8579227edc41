"""The tables every export shares, as rows of Chinese text and numbers (one source of truth)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shulian_reporting.domain.compute import IndicatorResult
from shulian_reporting.domain.scope import city_name

if TYPE_CHECKING:
    from shulian_reporting.schemas import CatalogueRead, SupplyDemandRead

DEPARTMENT = "四川省人力资源和社会保障厅"
Cell = str | float | int | None


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table: title, a subtitle line, header and rows."""

    title: str
    subtitle: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


def _number(value: float | None) -> Cell:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 2)


def indicator_table(results: Sequence[IndicatorResult]) -> Table:
    """主要指标完成情况表 for one scope and year."""
    first = results[0]
    rows: list[tuple[Cell, ...]] = []
    for i, r in enumerate(results, start=1):
        ind = r.indicator
        target = None if r.target is None else f"{ind.comparison.symbol}{_number(r.target)}"
        rows.append(
            (
                i,
                ind.name,
                ind.unit,
                target,
                _number(r.actual) if r.actual is not None else "—",
                _number(r.share),
                _number(r.expected),
                r.status.label,
                ind.basis,
            )
        )
    return Table(
        title=f"{first.scope.name}人力资源服务赋能产业专项行动主要指标完成情况表（{first.year}年）",
        subtitle=f"统计截至：{first.as_of:%Y年%m月%d日}　　制表单位：{DEPARTMENT}",
        header=("序号", "指标", "单位", "目标值", "完成值", "完成率(%)", "进度要求", "状态",
                "政策依据"),
        rows=rows,
    )  # fmt: skip


def city_breakdown_table(result: IndicatorResult) -> Table:
    """One indicator by city (分市州情况)."""
    ind = result.indicator
    rows: list[tuple[Cell, ...]] = [
        (i, city_name(code), _number(value))
        for i, (code, value) in enumerate(sorted(result.by_city.items()), start=1)
    ]
    return Table(
        title=f"{ind.name}分市(州)情况（{result.year}年）",
        subtitle=f"单位：{ind.unit}　　统计截至：{result.as_of:%Y年%m月%d日}",
        header=("序号", "市(州)", "完成值"),
        rows=rows,
    )


def supply_demand_table(data: SupplyDemandRead) -> Table:
    """供需清单 of a scope for a period."""
    rows: list[tuple[Cell, ...]] = [
        (i, line.city_name, line.industry_name, line.occupation_name, line.orders, line.demand,
         line.filled, line.unmet, line.talents, line.suppliers, line.gap,
         _number(line.shortage_ratio))
        for i, line in enumerate(data.lines, start=1)
    ]  # fmt: skip
    t = data.totals
    rows.append(("合计", None, None, None, t["orders"], t["demand"], t["filled"], t["unmet"],
                 None, None, t["gap"], None))  # fmt: skip
    return Table(
        title=f"{data.scope_name}人力资源供需清单（{data.period}）",
        subtitle=f"统计期间：{data.start:%Y年%m月%d日}至{data.end:%Y年%m月%d日}　　"
        f"制表单位：{DEPARTMENT}",
        header=("序号", "市(州)", "行业", "职业", "订单数", "需求人数", "已满足", "未满足",
                "人才供给", "服务机构", "缺口", "供需比"),
        rows=rows,
    )  # fmt: skip


def catalogue_table(data: CatalogueRead) -> Table:
    """急需紧缺人才目录 of a year (a published edition, or the draft)."""
    rows: list[tuple[Cell, ...]] = [
        (e.rank, e.industry_name, e.occupation_name, e.level_name, e.demand, e.unmet, e.talents,
         _number(e.shortage_ratio))
        for e in data.entries
    ]  # fmt: skip
    state = (
        f"第{data.edition}版　　发布日期：{data.published_at:%Y年%m月%d日}"
        if data.published and data.published_at
        else "草稿（未发布）"
    )
    return Table(
        title=f"四川省急需紧缺人才目录（{data.year}年）",
        subtitle=f"{state}　　发布单位：{DEPARTMENT}",
        header=("序号", "行业", "职业(大类)", "紧缺程度", "需求人数", "未满足人数",
                "人才供给", "供需比"),
        rows=rows,
    )  # fmt: skip
