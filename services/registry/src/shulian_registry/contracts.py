"""Events the registry publishes: full snapshots of each aggregate, without personal data.

Every change of an aggregate publishes its whole new state, so consumers (matching's supplier
replica, reporting's counts) can rebuild what they need from the stream alone. Supplier contact
details are personal data and never appear in an event. Supplier events, including listing
changes, share one topic keyed by supplier id, so their order per supplier is kept.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shulian_common.catalogue import EventModel, event_type
from shulian_registry.domain import (
    Level,
    ListingAction,
    ListingStatus,
    MarketKind,
    PairingKind,
    PlatformKind,
    PlatformOperator,
    ScenarioHost,
    ScenarioMode,
    StationKind,
)

SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"
NETWORK_TOPIC = "shulian.registry.network.v1"
ENTERPRISES_TOPIC = "shulian.registry.enterprises.v1"
_PREFIX = "cn.sichuan.shulian.registry"


class BusinessFigure(EventModel):
    """One year's business of one service line, in whole yuan."""

    year: int = Field(ge=2000, le=2100)
    service_line: str
    revenue_yuan: int = Field(ge=0)
    trade_volume_yuan: int = Field(ge=0, description="service-trade / export volume")


class RecordMeta(EventModel):
    """What every aggregate carries: id, owner node, version and times."""

    id: str
    owner_node: str
    version: int
    created_at: datetime
    updated_at: datetime


class SupplierSnapshot(RecordMeta):
    """A supplier's state, without contact details."""

    name: str
    uscc: str
    uscc_region_code: str
    county_code: str
    city_code: str
    region: str
    service_lines: list[str]
    industries: list[str]
    high_end: bool
    listing_status: ListingStatus
    listing_industries: list[str]
    listing_fields: list[str]
    figures: list[BusinessFigure]


@event_type(type=f"{_PREFIX}.supplier.registered.v1", topic=SUPPLIERS_TOPIC)
class SupplierRegistered(SupplierSnapshot):
    """人力资源服务机构已登记 (a supplier was registered)."""


@event_type(type=f"{_PREFIX}.supplier.updated.v1", topic=SUPPLIERS_TOPIC)
class SupplierUpdated(SupplierSnapshot):
    """人力资源服务机构资料已更新 (a supplier's profile changed)."""


class ListingDecision(EventModel):
    """One step of the listing workflow: what, from which status to which, who, when, why."""

    seq: int
    action: ListingAction
    from_status: ListingStatus
    to_status: ListingStatus
    reason: str | None
    industries: list[str]
    fields: list[str]
    decided_by: str
    decided_by_role: str
    decided_by_node: str
    decided_at: datetime


@event_type(type=f"{_PREFIX}.supplier.listing_changed.v1", topic=SUPPLIERS_TOPIC)
class SupplierListingChanged(SupplierSnapshot):
    """重点供应商名录库状态已变化 (a supplier's key-directory listing changed)."""

    decision: ListingDecision


@event_type(type=f"{_PREFIX}.supplier.uscc_conflict_detected.v1", topic=SUPPLIERS_TOPIC)
class SupplierUsccConflictDetected(EventModel):
    """统一社会信用代码重复登记 (two nodes registered one USCC before either heard of the other).

    Published by the node owning the duplicate (``id``), the record the rule gives up: the
    earlier registration keeps the USCC, at the same instant the lower node code, then the lower
    id. Every node that sees both registrations lists the conflict; only this one publishes it.
    """

    conflict_id: str
    uscc: str
    id: str = Field(description="the duplicate supplier, owned by the publishing node")
    owner_node: str
    registered_at: datetime
    kept_id: str = Field(description="the supplier that keeps the USCC")
    kept_owner_node: str
    kept_registered_at: datetime
    detected_at: datetime


class LinkedPlatform(EventModel):
    """A platform a park or market links (链接平台)."""

    name: str
    kind: str | None = None


class KeyServiceObject(EventModel):
    """An entry of a park's key service objects list (重点服务对象清单)."""

    name: str
    industry: str | None = None


class ParkSnapshot(RecordMeta):
    """An HR service industrial park."""

    name: str
    level: Level
    county_code: str
    city_code: str
    industries: list[str]
    linked_platforms: list[LinkedPlatform]
    key_service_objects: list[KeyServiceObject]
    description: str | None


@event_type(type=f"{_PREFIX}.park.created.v1", topic=NETWORK_TOPIC)
class ParkCreated(ParkSnapshot):
    """人力资源服务产业园已登记 (a park was recorded)."""


@event_type(type=f"{_PREFIX}.park.updated.v1", topic=NETWORK_TOPIC)
class ParkUpdated(ParkSnapshot):
    """人力资源服务产业园已更新 (a park changed)."""


class MarketSnapshot(RecordMeta):
    """An HR market or state-owned HR platform company."""

    name: str
    kind: MarketKind
    level: Level
    county_code: str
    city_code: str
    industries: list[str]
    linked_platforms: list[LinkedPlatform]
    description: str | None


@event_type(type=f"{_PREFIX}.market.created.v1", topic=NETWORK_TOPIC)
class MarketCreated(MarketSnapshot):
    """人力资源市场已登记 (a market was recorded)."""


@event_type(type=f"{_PREFIX}.market.updated.v1", topic=NETWORK_TOPIC)
class MarketUpdated(MarketSnapshot):
    """人力资源市场已更新 (a market changed)."""


class StationSnapshot(RecordMeta):
    """A liaison point, workstation, service net or sharing station."""

    name: str
    kind: StationKind
    host_platform: str
    county_code: str
    city_code: str
    supplier_id: str | None
    industries: list[str]
    opened_on: date | None
    description: str | None


@event_type(type=f"{_PREFIX}.station.created.v1", topic=NETWORK_TOPIC)
class StationCreated(StationSnapshot):
    """联络点/工作站/服务网/共享站已设立 (a station was recorded)."""


@event_type(type=f"{_PREFIX}.station.updated.v1", topic=NETWORK_TOPIC)
class StationUpdated(StationSnapshot):
    """联络点/工作站/服务网/共享站已更新 (a station changed)."""


class ScenarioSnapshot(RecordMeta):
    """A deep-collaboration application scenario."""

    title: str
    supplier_id: str
    host_kind: ScenarioHost
    host_name: str
    enterprise_id: str | None
    mode: ScenarioMode
    county_code: str
    city_code: str
    industries: list[str]
    service_lines: list[str]
    started_on: date | None
    description: str | None


@event_type(type=f"{_PREFIX}.scenario.created.v1", topic=NETWORK_TOPIC)
class ScenarioCreated(ScenarioSnapshot):
    """深度协同典型应用场景已登记 (a scenario was recorded)."""


@event_type(type=f"{_PREFIX}.scenario.updated.v1", topic=NETWORK_TOPIC)
class ScenarioUpdated(ScenarioSnapshot):
    """深度协同典型应用场景已更新 (a scenario changed)."""


class PairingSnapshot(RecordMeta):
    """A supplier–county pairing or an association pairing."""

    kind: PairingKind
    supplier_id: str | None
    division_code: str
    city_code: str | None
    area_kinds: list[str]
    hr_association: str | None
    industry_association: str | None
    industries: list[str]
    started_on: date | None
    description: str | None


@event_type(type=f"{_PREFIX}.pairing.created.v1", topic=NETWORK_TOPIC)
class PairingCreated(PairingSnapshot):
    """对口合作/协会结对已建立 (a pairing was recorded)."""


@event_type(type=f"{_PREFIX}.pairing.updated.v1", topic=NETWORK_TOPIC)
class PairingUpdated(PairingSnapshot):
    """对口合作/协会结对已更新 (a pairing changed)."""


class PlatformSnapshot(RecordMeta):
    """An HR informatisation platform."""

    name: str
    kind: PlatformKind
    operator_kind: PlatformOperator
    supplier_id: str | None
    division_code: str
    city_code: str | None
    url: str | None
    launched_on: date | None
    description: str | None


@event_type(type=f"{_PREFIX}.platform.created.v1", topic=NETWORK_TOPIC)
class PlatformCreated(PlatformSnapshot):
    """人力资源信息化平台已登记 (a platform was recorded)."""


@event_type(type=f"{_PREFIX}.platform.updated.v1", topic=NETWORK_TOPIC)
class PlatformUpdated(PlatformSnapshot):
    """人力资源信息化平台已更新 (a platform changed)."""


class EnterpriseSnapshot(RecordMeta):
    """A key enterprise (demand side)."""

    name: str
    uscc: str
    county_code: str
    city_code: str
    industries: list[str]
    description: str | None


@event_type(type=f"{_PREFIX}.enterprise.registered.v1", topic=ENTERPRISES_TOPIC)
class EnterpriseRegistered(EnterpriseSnapshot):
    """重点企业已登记 (a key enterprise was registered)."""


@event_type(type=f"{_PREFIX}.enterprise.updated.v1", topic=ENTERPRISES_TOPIC)
class EnterpriseUpdated(EnterpriseSnapshot):
    """重点企业资料已更新 (a key enterprise changed)."""
