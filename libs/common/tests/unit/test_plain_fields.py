"""Read models rendered from rows without building them: the same JSON as the model renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, field_serializer

from shulian_common.http import json_response
from shulian_common.schemas import Page, plain_fields
from shulian_common.testing.responses import assert_conforms


class Colour(StrEnum):
    RED = "red"


class Inner(BaseModel):
    year: int
    label: str | None


class Outer(BaseModel):
    id: str
    colour: Colour
    at: datetime
    day: date
    tags: list[str]
    inner: Inner | None
    inners: list[Inner]


@dataclass
class Row:
    id: str
    colour: str
    at: datetime
    day: date
    tags: list[str]
    inner: Any
    inners: list[Any]
    not_shown: str = "secret"


def _row(inner: Any) -> Row:
    at = datetime(2026, 12, 1, 8, 30, 0, 120, tzinfo=UTC)
    inners = [{"year": 2024, "label": "宜宾"}, {"year": 2025, "label": None}]
    return Row("a1", "red", at, date(2026, 12, 1), ["x"], inner, inners)


@pytest.mark.parametrize("inner", [None, {"year": 1, "label": "x"}, Inner(year=2, label=None)])
def test_plain_fields_render_what_the_model_renders(inner: Any) -> None:
    row = _row(inner)
    body = json_response({"items": [plain_fields(Outer, row)], "next_cursor": None}).body
    assert assert_conforms(Page[Outer], body)["items"][0] == Outer.model_validate(
        plain_fields(Outer, row)
    ).model_dump(mode="json")
    assert b"secret" not in body  # only the model's fields


def test_a_model_that_renders_itself_is_refused() -> None:
    class Custom(BaseModel):
        n: int

        @field_serializer("n")
        def _twice(self, n: int) -> int:
            return 2 * n

    with pytest.raises(TypeError):
        plain_fields(Custom, {"n": 1})


def test_a_body_unlike_the_model_does_not_conform() -> None:
    with pytest.raises(AssertionError):
        assert_conforms(Inner, b'{"year": 1, "label": null, "extra": true}')
    with pytest.raises(AssertionError):
        assert_conforms(Inner, b'{"year": "1", "label": null}')


class _Computed(Row):
    """A row whose ``tags`` is an attribute computed on read, not in its instance dictionary."""

    @property
    def tags(self) -> list[str]:
        return ["computed"]

    @tags.setter
    def tags(self, _value: list[str]) -> None:
        pass


def test_fields_not_in_the_instance_dictionary_are_read_as_attributes() -> None:
    row = _Computed("a1", "red", datetime(2026, 12, 1, tzinfo=UTC), date(2026, 12, 1), [], None, [])
    assert "tags" not in vars(row)
    assert plain_fields(Outer, row)["tags"] == ["computed"]
    assert plain_fields(Outer, row)["id"] == "a1"
