"""HTTP models of the support network: parks, markets, stations, scenarios, pairings,
platforms and key enterprises."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    computed_field,
)

from shulian_common.reference import AreaKind
from shulian_common.schemas import RecordRead, Strict, partial_of
from shulian_registry.domain import (
    Level,
    MarketKind,
    PairingKind,
    PlatformKind,
    PlatformOperator,
    ScenarioHost,
    ScenarioMode,
    StationKind,
)
from shulian_registry.schemas.common import (
    DivisionCode,
    Industries,
    IndustryCode,
    Name,
    ServiceLines,
    Text,
    distinct,
)


class LinkedPlatformIn(Strict):
    """A platform a park or market links (链接平台)."""

    name: Name
    kind: str | None = Field(default=None, max_length=50, examples=["产业功能平台"])


class KeyServiceObjectIn(Strict):
    """An entry of a park's key service objects list (重点服务对象清单)."""

    name: Name
    industry: IndustryCode | None = None


class ParkCreate(Strict):
    """An HR service industrial park (人力资源服务产业园)."""

    name: Name = Field(examples=["中国成都人力资源服务产业园"])
    level: Level
    county_code: DivisionCode
    industries: Industries = Field(default_factory=list)
    linked_platforms: list[LinkedPlatformIn] = Field(default_factory=list, max_length=2000)
    key_service_objects: list[KeyServiceObjectIn] = Field(default_factory=list, max_length=5000)
    description: Text | None = None


class ParkRead(RecordRead, ParkCreate):
    """A park, with the counts the targets are measured by."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    city_code: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def linked_platform_count(self) -> int:
        """Number of linked platforms (target: national ≥ 50, provincial ≥ 20)."""
        return len(self.linked_platforms)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def key_service_object_count(self) -> int:
        """Entries of the key service objects list (target: national ≥ 500, provincial ≥ 200)."""
        return len(self.key_service_objects)


class MarketCreate(Strict):
    """An HR market (人力资源市场) or state-owned HR platform company."""

    name: Name = Field(examples=["德阳重大装备制造人力资源市场"])
    kind: MarketKind
    level: Level
    county_code: DivisionCode
    industries: Industries = Field(default_factory=list)
    linked_platforms: list[LinkedPlatformIn] = Field(default_factory=list, max_length=2000)
    description: Text | None = None


class MarketRead(RecordRead, MarketCreate):
    """A market."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    city_code: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def linked_platform_count(self) -> int:
        """Number of linked platforms (target: national ≥ 30, provincial ≥ 10)."""
        return len(self.linked_platforms)


class StationCreate(Strict):
    """A liaison point, workstation or service net in an industrial platform, or a sharing
    station (Chengdu, one per county)."""

    name: Name = Field(examples=["宜宾三江新区人力资源服务工作站"])
    kind: StationKind
    host_platform: Name = Field(description="the industrial platform hosting it")
    county_code: DivisionCode
    supplier_id: str | None = Field(default=None, description="the supplier running it")
    industries: Industries = Field(default_factory=list)
    opened_on: date | None = None
    description: Text | None = None


class StationRead(RecordRead, StationCreate):
    """A station."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    city_code: str


class ScenarioCreate(Strict):
    """A deep-collaboration application scenario: a supplier stationed in a key enterprise or a
    major project."""

    title: Name = Field(examples=["某人力资源公司驻场动力电池龙头企业一站式用工服务"])
    supplier_id: str
    host_kind: ScenarioHost
    host_name: Name
    enterprise_id: str | None = None
    mode: ScenarioMode
    county_code: DivisionCode
    industries: Industries = Field(default_factory=list)
    service_lines: ServiceLines = Field(default_factory=list)
    started_on: date | None = None
    description: Text | None = None


class ScenarioRead(RecordRead, ScenarioCreate):
    """A scenario."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    city_code: str


class PairingCreate(Strict):
    """A pairing: a supplier with a county of the four kinds of areas (``supplier_area``:
    supplier_id, division_code = the county, area_kinds), or an HR association with an industry
    association (``association``: hr_association, industry_association, division_code = where
    the HR association sits, any level)."""

    kind: PairingKind
    division_code: DivisionCode
    supplier_id: str | None = None
    area_kinds: Annotated[list[AreaKind], AfterValidator(distinct)] = Field(
        default_factory=list, max_length=4
    )
    hr_association: Name | None = None
    industry_association: Name | None = None
    industries: Industries = Field(default_factory=list)
    started_on: date | None = None
    description: Text | None = None


class PairingRead(RecordRead, PairingCreate):
    """A pairing."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    city_code: str | None


class PlatformCreate(Strict):
    """An HR informatisation platform (online platform, website, system, software, app)."""

    name: Name = Field(examples=["中国成都人力资源服务产业园线上园"])
    kind: PlatformKind
    operator_kind: PlatformOperator
    supplier_id: str | None = None
    division_code: DivisionCode
    url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    launched_on: date | None = None
    description: Text | None = None


class PlatformRead(RecordRead, PlatformCreate):
    """A platform."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    city_code: str | None


class EnterpriseCreate(Strict):
    """A key enterprise (重点企业), the demand side."""

    name: Name = Field(examples=["宜宾动力电池示范企业有限公司"])
    uscc: str = Field(min_length=1, max_length=32)
    county_code: DivisionCode
    industries: Industries = Field(default_factory=list)
    description: Text | None = None


class EnterpriseRead(RecordRead, EnterpriseCreate):
    """A key enterprise."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    city_code: str


ParkUpdate: Any = partial_of(ParkCreate, "ParkUpdate")
MarketUpdate: Any = partial_of(MarketCreate, "MarketUpdate")
StationUpdate: Any = partial_of(StationCreate, "StationUpdate")
ScenarioUpdate: Any = partial_of(ScenarioCreate, "ScenarioUpdate")
PairingUpdate: Any = partial_of(PairingCreate, "PairingUpdate", exclude=frozenset({"kind"}))
PlatformUpdate: Any = partial_of(PlatformCreate, "PlatformUpdate")
EnterpriseUpdate: Any = partial_of(
    EnterpriseCreate, "EnterpriseUpdate", exclude=frozenset({"uscc"})
)
