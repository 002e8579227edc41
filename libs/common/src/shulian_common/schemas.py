"""The HTTP models every service shares: strict request bodies, record metadata, pages, and
update models derived from create models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

T = TypeVar("T")


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
