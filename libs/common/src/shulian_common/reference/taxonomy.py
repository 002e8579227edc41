"""Coded taxonomies: the industries the seed names and the HR service lines.

Static reference data every service shares (the registry serves it at ``/v1/reference/*`` and
refuses unknown codes; the calendar refuses unknown industry codes too). Codes are stable API values
(English snake_case); names and aliases are the Chinese words people use, and feed the registry's
free-text search vocabulary. A code, once published, is never renamed; a new one is added here and
reaches every service with the kit's next release.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

__all__ = [
    "INDUSTRIES",
    "SERVICE_LINES",
    "Industry",
    "ServiceLine",
    "high_end_lines",
    "industry",
    "is_industry",
    "is_service_line",
    "service_line",
]


@dataclass(frozen=True, slots=True)
class Industry:
    """A key or featured industry (重点特色产业) named in the 2023-09-20 seed notice."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceLine:
    """An HR service line (人力资源服务业态) and whether it is mid-to-high-end (中高端业态)."""

    code: str
    name: str
    high_end: bool
    aliases: tuple[str, ...] = ()


INDUSTRIES: tuple[Industry, ...] = (
    Industry("liquor_food", "白酒(食品轻纺)", ("白酒", "食品轻纺", "食品", "轻纺")),
    Industry("energy_chemicals", "能源化工", ("能源", "化工")),
    Industry("electronic_information", "电子信息", ("电子",)),
    Industry("major_equipment", "重大装备制造", ("装备制造", "重大装备", "装备")),
    Industry("culture_tourism", "文化旅游", ("文旅", "旅游")),
    Industry("advanced_materials", "先进材料", ("新材料",)),
    Industry("modern_services", "现代服务业", ("现代服务",)),
    Industry("modern_agriculture", "现代农业", ("农业",)),
    Industry("lantern_making", "彩灯制作", ("彩灯",)),
    Industry("new_energy", "新能源", ("能源",)),
    Industry("new_chemicals", "新型化工", ("化工",)),
    Industry("drones_aviation", "无人机及通航", ("无人机", "通航", "通用航空")),
    Industry("vanadium_titanium", "钒钛", ("钒钛资源",)),
    Industry("green_aluminium", "绿色铝", ("铝", "铝业")),
    Industry("silicon_materials", "硅基新材料", ("硅材料", "新材料")),
    Industry("autos_parts", "汽车汽配", ("汽车", "汽配")),
    Industry("oil_gas_chemicals", "油气化工", ("油气", "化工")),
    Industry("digital_economy", "数字经济", ("数字",)),
    Industry("power_batteries", "动力电池", ("电池",)),
    Industry("crystalline_pv", "晶硅光伏", ("光伏",)),
    Industry("lithium_materials", "锂电新材料", ("锂电", "新材料")),
    Industry("sichuan_tibet_railway", "川藏铁路", ("铁路",)),
)

# High-end (中高端业态) follows the seed's call to move "traditional formats to mid-to-high-end
# formats" by "professional, diversified, personalised" services (二(四)): the knowledge-intensive
# lines — executive search, talent assessment, management consulting and HR software/information
# services — count as high-end; volume lines (recruitment, dispatch, outsourcing, agency, flexible
# staffing, training, labour services) do not. See services/registry/README.md.
SERVICE_LINES: tuple[ServiceLine, ...] = (
    ServiceLine("recruitment", "招聘服务", False, ("招聘", "网络招聘", "现场招聘")),
    ServiceLine("labour_dispatch", "劳务派遣", False, ("派遣",)),
    ServiceLine("outsourcing", "人力资源服务外包", False, ("外包", "人力外包", "业务外包")),
    ServiceLine("training", "人力资源培训", False, ("培训", "职业培训", "技能培训")),
    ServiceLine("headhunting", "高级人才寻访", True, ("猎头", "人才寻访", "高端人才寻访")),
    ServiceLine("assessment", "人才测评", True, ("测评",)),
    ServiceLine("consulting", "人力资源管理咨询", True, ("咨询", "管理咨询")),
    ServiceLine(
        "payroll_social_insurance",
        "薪酬及社保代理",
        False,
        ("薪酬", "社保", "社保代理", "薪酬代理", "人事代理", "代理"),
    ),
    ServiceLine("flexible_employment", "灵活用工", False, ("零工", "灵活就业")),
    ServiceLine(
        "hr_software", "人力资源信息软件服务", True, ("信息软件", "人力资源信息化", "软件")
    ),
    ServiceLine("labour_services", "劳务服务", False, ("劳务", "劳务协作", "劳务输出")),
)


@cache
def _industries_by_code() -> dict[str, Industry]:
    return {industry.code: industry for industry in INDUSTRIES}


@cache
def _service_lines_by_code() -> dict[str, ServiceLine]:
    return {line.code: line for line in SERVICE_LINES}


def industry(code: str) -> Industry:
    """The industry with this code (``KeyError`` when unknown)."""
    return _industries_by_code()[code]


def service_line(code: str) -> ServiceLine:
    """The service line with this code (``KeyError`` when unknown)."""
    return _service_lines_by_code()[code]


def is_industry(code: str) -> bool:
    """Whether ``code`` is a known industry code."""
    return code in _industries_by_code()


def is_service_line(code: str) -> bool:
    """Whether ``code`` is a known service-line code."""
    return code in _service_lines_by_code()


def high_end_lines() -> frozenset[str]:
    """Codes of the mid-to-high-end service lines."""
    return frozenset(line.code for line in SERVICE_LINES if line.high_end)
