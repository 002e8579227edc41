"""Shared pieces of the HTTP models: coded fields, update models, record metadata, pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)
from pydantic.fields import FieldInfo

from shulian_registry.taxonomy import INDUSTRIES, SERVICE_LINES, is_industry, is_service_line

T = TypeVar("T")
MAX_LIST = 50


def _known_industry(code: str) -> str:
    if not is_industry(code):
        raise ValueError(f"unknown industry code {code!r}; see /v1/reference/industries")
    return code


def _known_line(code: str) -> str:
    if not is_service_line(code):
        raise ValueError(f"unknown service line {code!r}; see /v1/reference/service-lines")
    return code


def distinct(values: list[T]) -> list[T]:
    return list(dict.fromkeys(values))


IndustryCode = Annotated[
    str,
    AfterValidator(_known_industry),
    WithJsonSchema({"type": "string", "enum": [i.code for i in INDUSTRIES]}),
]
ServiceLineCode = Annotated[
    str,
    AfterValidator(_known_line),
    WithJsonSchema({"type": "string", "enum": [s.code for s in SERVICE_LINES]}),
]
Industries = Annotated[list[IndustryCode], AfterValidator(distinct), Field(max_length=MAX_LIST)]
ServiceLines = Annotated[
    list[ServiceLineCode], AfterValidator(distinct), Field(max_length=MAX_LIST)
]
DivisionCode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["511502"])]
Name = Annotated[str, Field(min_length=2, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]


def partial_of(model: type[BaseModel], name: str, *, exclude: frozenset[str] = frozenset()) -> Any:
    """An update model: ``model``'s fields, all optional, constraints kept; nulls only where the
    original field accepts ``None``."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        if field_name not in exclude:
            optional = FieldInfo.merge_field_infos(info, default=None, default_factory=None)
            fields[field_name] = (info.annotation, optional)
    doc = f"Changes to apply (PATCH, JSON merge semantics); send only what changes. {model.__doc__}"
    return create_model(name, __doc__=doc, __config__=ConfigDict(extra="forbid"), **fields)


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class RecordRead(BaseModel):
    """What every record shows: id, owner node, version (also the ETag) and times."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(examples=["0192f3c4d5e6a7b8c9d0e1f2a3b4c5d6"])
    owner_node: str = Field(examples=["511500"])
    version: int = Field(examples=[1])
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(description="absent on the last page")
