"""Shared pieces of the registry's HTTP models: coded fields and their constraints.

Record metadata, pages, strict bodies and update models are the kit's (``shulian_common.schemas``).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

from shulian_common.reference.taxonomy import (
    INDUSTRIES,
    SERVICE_LINES,
    is_industry,
    is_service_line,
)

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
# Stripped before the length check, so a whitespace-only name is refused (422), not stored.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]
