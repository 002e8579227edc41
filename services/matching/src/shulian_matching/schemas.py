"""HTTP request and response models of matching."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shulian_common.reference import validate_resident_id
from shulian_common.schemas import RecordRead, Strict, partial_of
from shulian_matching.domain.access import PlacerKind
from shulian_matching.domain.grabs import GrabStatus
from shulian_matching.domain.orders import OrderKind, OrderStatus, Visibility
from shulian_matching.domain.talents import ApplicationStatus

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", examples=["recruitment"])]
Skill = Annotated[str, Field(min_length=1, max_length=40)]
Division = Annotated[str, Field(pattern=r"^\d{6}$", examples=["511502"])]
Occupation = Annotated[str, Field(min_length=1, max_length=20, examples=["6"])]


class OrderCreate(Strict):
    """An order: a service order (firms grab it) or a job order (talents take it)."""

    kind: OrderKind
    title: str = Field(min_length=1, max_length=200, examples=["动力电池产线技工招聘外包"])
    county_code: Division
    service_line: Code | None = Field(default=None, description="service orders only")
    industry: Code | None = Field(default=None, examples=["power_batteries"])
    occupation_code: Occupation | None = Field(
        default=None, description="职业分类大典 code (this service ships the 8 major groups)"
    )
    skills: list[Skill] = Field(default_factory=list, max_length=20)
    head_count: int = Field(ge=1, le=100_000, examples=[30])
    slots: int = Field(default=1, ge=1, le=100, description="how many firms may win")
    budget_yuan: int | None = Field(default=None, ge=0, description="service orders")
    monthly_pay_yuan: int | None = Field(default=None, ge=0, description="job orders")
    deadline: date
    visibility: Visibility = Visibility.OWN_CITY
    visible_cities: list[Division] = Field(default_factory=list, max_length=21)


OrderUpdate: Any = partial_of(OrderCreate, "OrderUpdate", exclude=frozenset({"kind"}))


class OrderRead(RecordRead):
    """An order, own or replicated (``owner_node`` says which node writes it)."""

    kind: OrderKind
    title: str
    placer_kind: PlacerKind
    placed_by: str
    county_code: str
    city_code: str
    service_line: str | None
    industry: str | None
    occupation_code: str | None
    skills: list[str]
    head_count: int
    slots: int
    budget_yuan: int | None
    monthly_pay_yuan: int | None
    deadline: date
    visibility: Visibility
    visible_cities: list[str]
    status: OrderStatus
    awarded_count: int
    accepted_count: int
    terms_version: int
    placements: int | None
    contract_value_yuan: int | None
    fulfilled_at: datetime | None


class FulfilBody(Strict):
    """How an order in service ended: placements made and (service orders) the contract value."""

    placements: int = Field(ge=0, le=100_000)
    contract_value_yuan: int | None = Field(default=None, ge=0, le=10**12)


class GrabRead(BaseModel):
    """A grab as this node knows it; ``pending`` until the order's owner node decides."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    order_id: str
    order_owner_node: str
    supplier_id: str
    requester_node: str
    status: GrabStatus
    reason: str | None
    reason_text: str | None = None
    seq: int
    requested_at: datetime
    decided_at: datetime | None
    confirm_by: datetime | None
    age_seconds: float | None = Field(
        default=None, description="on the asking node: seconds since the grab, until decided"
    )
    overdue: bool | None = Field(
        default=None, description="on the asking node: pending longer than expected"
    )


def _resident_id(value: str) -> str:
    return validate_resident_id(value)


class TalentWrite(Strict):
    """A talent's profile. Name, phone and ID number are personal data: shown whole only to the
    talent, masked to everyone else, never published."""

    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=r"^1\d{10}$")
    id_number: str = Field(min_length=18, max_length=18)
    occupation_code: Occupation | None = None
    skills: list[Skill] = Field(default_factory=list, max_length=20)
    county_code: Division

    @field_validator("id_number")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return _resident_id(value)


class TalentRead(BaseModel):
    """A talent's profile; ``masked`` says whether the personal data is masked."""

    id: str
    owner_node: str
    version: int
    name: str
    phone: str
    id_number: str
    occupation_code: str | None
    skills: list[str]
    county_code: str
    masked: bool


class ApplicationRead(BaseModel):
    """An application; to the placer, with the talent's personal data masked when the profile is
    held on this node, and without any when it is held on another (``talent_node``)."""

    id: str
    order_id: str
    owner_node: str = Field(description="the order's owner node, where the placer answers")
    talent_id: str = Field(description="the talent's id, a pseudonymous reference elsewhere")
    talent_node: str | None = Field(description="the node holding the talent's profile")
    occupation_code: str | None
    skills: list[str]
    county_code: str | None
    status: ApplicationStatus
    reason: str | None = Field(description="why the owner node refused it (status rejected)")
    terms_version: int = Field(
        description="the order's terms it was made on; once declined, the talent may apply "
        "again only after they change"
    )
    version: int
    talent: TalentRead | None = None


class ApplicationFollow(ApplicationRead):
    """An application followed by its talent; for one sent to another node's order, how long
    the owner node has had it (``overdue`` when slow)."""

    age_seconds: float | None = None
    overdue: bool = False


class ApplicationAnswer(Strict):
    """The placer's answer."""

    accept: bool


class TermRead(BaseModel):
    """One term of a score."""

    term: str
    label: str
    weight: float
    fit: float
    points: float


class CandidateRead(BaseModel):
    """A ranked candidate (supplier or talent) with its explanation."""

    id: str
    name: str
    city_code: str
    score: float
    matched: list[str]
    missing: list[str]
    terms: list[TermRead]


class CandidatesRead(BaseModel):
    """An order's candidates, best first; ``eligible`` counts all who passed the rules."""

    order_id: str
    kind: OrderKind
    eligible: int
    weights: dict[str, float]
    items: list[CandidateRead]
