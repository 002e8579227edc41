"""The support network: kinds of parks, markets, stations, scenarios, pairings, platforms; rules."""

from __future__ import annotations

from enum import StrEnum

from shulian_common.reference import city_of
from shulian_registry.domain.access import check_division
from shulian_registry.domain.errors import (
    InconsistentRecord,
    SharingStationOutsideChengdu,
)


class Level(StrEnum):
    """Level of a park or market: 国家级 / 省级 / 市级 / 县级."""

    NATIONAL = "national"
    PROVINCIAL = "provincial"
    CITY = "city"
    COUNTY = "county"


class MarketKind(StrEnum):
    """专业性人力资源市场 / 人力资源(人才)市场 / 国有人力资源(劳务)平台公司."""

    PROFESSIONAL_MARKET = "professional_market"
    TALENT_MARKET = "talent_market"
    STATE_OWNED_PLATFORM = "state_owned_platform"


class StationKind(StrEnum):
    """联络点 / 工作站 / 服务网 hosted by industrial platforms; 共享站 is Chengdu's 一县一站."""

    LIAISON_POINT = "liaison_point"
    WORKSTATION = "workstation"
    SERVICE_NET = "service_net"
    SHARING_STATION = "sharing_station"


class ScenarioHost(StrEnum):
    """Where a supplier is stationed: a key enterprise (重点企业) or a major project (重大项目)."""

    KEY_ENTERPRISE = "key_enterprise"
    MAJOR_PROJECT = "major_project"


class ScenarioMode(StrEnum):
    """Service mode of a deep-collaboration scenario: 点对点 / 一站式."""

    POINT_TO_POINT = "point_to_point"
    ONE_STOP = "one_stop"


class PairingKind(StrEnum):
    """对口合作: a supplier with a four-kinds-of-areas county, or 行业协会结对."""

    SUPPLIER_AREA = "supplier_area"
    ASSOCIATION = "association"


class PlatformKind(StrEnum):
    """HR informatisation platform (人力资源信息化支撑平台): 线上平台/网站/系统/软件/APP/小程序."""

    ONLINE_PLATFORM = "online_platform"
    WEBSITE = "website"
    SYSTEM = "system"
    SOFTWARE = "software"
    APP = "app"
    MINI_PROGRAM = "mini_program"


class PlatformOperator(StrEnum):
    """Who runs a platform: a supplier or a node (人社部门)."""

    SUPPLIER = "supplier"
    NODE = "node"


CHENGDU = "510100"


def check_station_place(kind: StationKind, county_code: str) -> None:
    """Sharing stations only in Chengdu's counties."""
    if kind is StationKind.SHARING_STATION and city_of(county_code).code != CHENGDU:
        raise SharingStationOutsideChengdu(f"{county_code} 不属于成都市，不能设立共享站")


def check_platform_operator(operator: PlatformOperator, supplier_id: str | None) -> None:
    """A supplier-run platform names its supplier; a node-run one names none."""
    if (operator is PlatformOperator.SUPPLIER) != (supplier_id is not None):
        raise InconsistentRecord("机构运营的平台须填写 supplier_id，节点运营的平台不填")


def check_pairing(
    kind: PairingKind,
    *,
    supplier_id: str | None,
    division_code: str,
    area_kinds: list[str],
    hr_association: str | None,
    industry_association: str | None,
) -> None:
    """A supplier pairing names a supplier, a county and its kinds of area; an association
    pairing names both associations."""
    if kind is PairingKind.SUPPLIER_AREA:
        check_division(division_code, county_only=True)
        if supplier_id is None or not area_kinds:
            raise InconsistentRecord("对口合作须填写机构 supplier_id 和四类地区类别 area_kinds")
    elif not (hr_association and industry_association):
        raise InconsistentRecord("协会结对须填写人力资源服务行业协会和产业协会名称")
