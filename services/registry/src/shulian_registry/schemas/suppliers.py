"""HTTP models of suppliers and their key-directory listing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from sqlalchemy import Row

from shulian_common.reference import get_division, is_division
from shulian_common.schemas import RecordRead, Strict, partial_of
from shulian_registry import orm
from shulian_registry.domain import DECISIONS, Contact, ListingAction, ListingStatus
from shulian_registry.schemas.common import (
    DivisionCode,
    Industries,
    Name,
    ServiceLineCode,
    ServiceLines,
    Text,
)


class ContactIn(Strict):
    """A supplier's contact person (personal data: masked for callers who do not own it)."""

    name: str | None = Field(default=None, max_length=100, examples=["王小明"])
    phone: str | None = Field(
        default=None, pattern=r"^[0-9+\-() ]{5,20}$", examples=["13800000000"]
    )
    email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["hr@example.cn"]
    )


class ContactRead(BaseModel):
    """Contact details as shown to this caller; ``masked`` tells whether parts are hidden."""

    name: str | None
    phone: str | None
    email: str | None
    masked: bool


# 10 trillion yuan: above the whole Chinese HR services industry's yearly revenue, so no real
# figure is refused, while typos and overflow (10^30) are, before they skew every report.
MAX_YUAN = 10**13


class BusinessFigureIn(Strict):
    """One year's business of one service line, in whole yuan (at most 10^13)."""

    year: int = Field(ge=2000, le=2100, examples=[2024])
    service_line: ServiceLineCode
    revenue_yuan: int = Field(ge=0, le=MAX_YUAN, examples=[12_000_000])
    trade_volume_yuan: int = Field(
        default=0,
        ge=0,
        le=MAX_YUAN,
        description="HR service trade / export volume",
        examples=[800_000],
    )


class BusinessFigureRead(BaseModel):
    """One year's business of one service line, in whole yuan."""

    year: int
    service_line: str
    revenue_yuan: int
    trade_volume_yuan: int


def _one_figure_per_line_and_year(figures: list[BusinessFigureIn]) -> list[BusinessFigureIn]:
    keys = [(f.year, f.service_line) for f in figures]
    if len(keys) != len(set(keys)):
        raise ValueError("at most one figure per (year, service_line)")
    return sorted(figures, key=lambda f: (f.year, f.service_line))


Figures = Annotated[
    list[BusinessFigureIn], AfterValidator(_one_figure_per_line_and_year), Field(max_length=200)
]


class SupplierCreate(Strict):
    """A supplier to register in the directory."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "宜宾三江人力资源有限公司",
                    "uscc": "91511502MA6GX0Q320",
                    "county_code": "511502",
                    "service_lines": ["recruitment", "headhunting"],
                    "industries": ["power_batteries", "crystalline_pv"],
                    "contact": {"name": "王小明", "phone": "13800000000"},
                }
            ]
        }
    )

    name: Name
    uscc: str = Field(min_length=1, max_length=32, description="统一社会信用代码 (GB 32100-2015)")
    county_code: DivisionCode
    service_lines: ServiceLines = Field(min_length=1)
    industries: Industries = Field(default_factory=list)
    figures: Figures = Field(default_factory=list)
    contact: ContactIn | None = None
    description: Text | None = None


SupplierUpdate: Any = partial_of(SupplierCreate, "SupplierUpdate", exclude=frozenset({"uscc"}))


class SupplierRead(RecordRead):
    """A supplier as the caller may see it."""

    name: str
    uscc: str
    uscc_region_code: str = Field(description="characters 3-8 of the USCC")
    uscc_region_name: str | None = Field(description="null when the code is no longer current")
    county_code: str
    county_name: str
    city_code: str
    city_name: str
    region: str
    service_lines: list[str]
    industries: list[str]
    high_end: bool = Field(description="offers at least one mid-to-high-end service line")
    listing_status: ListingStatus
    listing_industries: list[str]
    listing_fields: list[str]
    figures: list[BusinessFigureRead]
    contact: ContactRead
    description: str | None

    @classmethod
    def from_row(cls, row: orm.Supplier | Row[Any], *, show_contact: bool) -> SupplierRead:
        """The view of ``row``; contact details masked unless ``show_contact``."""
        return cls.model_validate(supplier_fields(row, show_contact=show_contact))


def supplier_fields(
    row: orm.Supplier | Row[Any] | Mapping[Any, Any], *, show_contact: bool
) -> dict[str, Any]:
    """The input of ``SupplierRead`` for a supplier object, or a ``suppliers`` row or mapping
    of its columns (a driver's record too), unvalidated."""
    # A row's mapping reads a column by key in C; getattr on a Row costs several times that.
    read: Any = (
        row._mapping
        if isinstance(row, Row)
        else _Attributes(row)
        if isinstance(row, orm.Supplier)
        else row
    )
    contact = Contact(read["contact_name"], read["contact_phone"], read["contact_email"])
    shown = contact if show_contact else contact.masked()
    fields = {name: read[name] for name in _SUPPLIER_COLUMNS}
    fields["uscc_region_name"] = _division_name(fields["uscc_region_code"])
    fields["county_name"] = get_division(fields["county_code"]).name
    fields["city_name"] = get_division(fields["city_code"]).name
    fields["contact"] = {
        "name": shown.name,
        "phone": shown.phone,
        "email": shown.email,
        "masked": not show_contact,
    }
    return fields


class _Attributes:
    """An object's attributes read by key, as a row's mapping reads its columns."""

    __slots__ = ("source",)

    def __init__(self, source: object) -> None:
        self.source = source

    def __getitem__(self, name: str) -> Any:
        return getattr(self.source, name)


_SUPPLIER_COLUMNS = (
    *("id", "owner_node", "version", "created_at", "updated_at", "name", "uscc"),
    *("uscc_region_code", "county_code", "city_code", "region", "service_lines", "industries"),
    *("high_end", "listing_status", "listing_industries", "listing_fields", "figures"),
    "description",
)


def _division_name(code: str) -> str | None:
    return get_division(code).name if is_division(code) else None


class ListingApplication(Strict):
    """Apply for the key directory in chosen industries and fields (service lines)."""

    industries: Industries = Field(min_length=1)
    fields: ServiceLines = Field(min_length=1)
    reason: Text | None = Field(default=None, description="a note to the reviewers")


def _decision(action: ListingAction) -> ListingAction:
    if action not in DECISIONS:
        raise ValueError("apply is not a decision: POST it to /v1/suppliers/{id}/listing")
    return action


DecisionAction = Annotated[
    ListingAction,
    AfterValidator(_decision),
    WithJsonSchema({"type": "string", "enum": sorted(a.value for a in DECISIONS)}),
]


class ListingDecisionIn(Strict):
    """A decision on a supplier's listing; ``reject``, ``suspend`` and ``delist`` need a reason."""

    action: DecisionAction = Field(examples=["approve"])
    reason: Text | None = Field(default=None, examples=["材料齐全，符合入库条件"])


class ListingStepRead(BaseModel):
    """One step of the listing history: what, who (role and node), when and why."""

    model_config = ConfigDict(from_attributes=True)

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


class ListingRead(BaseModel):
    """A supplier's listing: current status, industries and fields, and the whole history."""

    supplier_id: str
    status: ListingStatus
    status_label: str
    industries: list[str]
    fields: list[str]
    version: int
    history: list[ListingStepRead]

    @classmethod
    def from_rows(cls, supplier: orm.Supplier, steps: list[orm.ListingStep]) -> ListingRead:
        """The listing view of a supplier and its steps."""
        status = ListingStatus(supplier.listing_status)
        return cls(
            supplier_id=supplier.id,
            status=status,
            status_label=status.label,
            industries=supplier.listing_industries,
            fields=supplier.listing_fields,
            version=supplier.version,
            history=[ListingStepRead.model_validate(step) for step in steps],
        )


class ConflictRead(BaseModel):
    """One USCC registered on two nodes before either heard of the other.

    ``first`` keeps the USCC (earliest registration, then lower node code, then lower id);
    ``second`` is the duplicate its owner node has to resolve.
    """

    model_config = ConfigDict(from_attributes=True)

    id: str
    uscc: str
    first_id: str
    first_owner_node: str
    first_registered_at: datetime
    second_id: str
    second_owner_node: str
    second_registered_at: datetime
    detected_at: datetime = Field(description="when this node saw both registrations")
