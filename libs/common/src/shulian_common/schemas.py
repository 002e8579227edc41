"""The HTTP models every service shares: strict request bodies, record metadata, pages, and
update models derived from create models."""

from __future__ import annotations

import types
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo
from sqlalchemy import Row

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


# --- plain fields: a read model's shape without building the model ------------------------------


def plain_fields(model: type[BaseModel], source: Any) -> dict[str, Any]:
    """``model``'s fields read from ``source`` (an ORM object, a row or a mapping) as plain
    data, nested read models included, for ``http.json_response``: what
    ``model.model_validate(source).model_dump()`` holds, without validating or building
    anything. For read models whose fields are the source's values as they are (no validators
    that change them); the route's test holds the body to the model (``assert_conforms``)."""
    plan = _field_plan(model)
    read: Mapping[Any, Any]
    if isinstance(source, Mapping):
        read = source
    elif isinstance(source, Row):  # a Core row (``deps.ConnectionDep``): its columns by name
        read = source._mapping
    else:
        # An object's loaded values straight from its instance dictionary (an ORM row's
        # columns: no attribute descriptor per field, issue 13's profile), else its attribute.
        loaded = getattr(source, "__dict__", {})
        read = {name: loaded[name] if name in loaded else getattr(source, name) for name, _ in plan}
    return {
        name: read[name] if nested is None else _plain(nested, read[name]) for name, nested in plan
    }


def _plain(nested: type[BaseModel] | None, value: Any) -> Any:
    if nested is None or value is None:
        return value
    if isinstance(value, list | tuple):
        return [plain_fields(nested, item) for item in value]
    return plain_fields(nested, value)


@cache
def _field_plan(model: type[BaseModel]) -> tuple[tuple[str, type[BaseModel] | None], ...]:
    decorators = model.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers or decorators.computed_fields:
        raise TypeError(f"{model.__name__} renders its fields itself: serialise the model")
    return tuple(
        (name, _nested_model(info.annotation)) for name, info in model.model_fields.items()
    )


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The read model inside ``annotation`` (``M``, ``M | None``, ``list[M]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, tuple, Union, types.UnionType):
        for arg in get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
    return None
