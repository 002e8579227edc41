"""Read models rendered from rows without building them: the same JSON as the model renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, field_serializer
from sqlalchemy import create_engine, text

from shulian_common.http import json_response
from shulian_common.schemas import Page, plain_fields, plain_rows
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


class Flat(BaseModel):
    id: str
    year: int
    label: str | None


def _core_rows(sql: str) -> list[Any]:
    """SQLAlchemy ``Row``s of ``sql`` on an in-memory SQLite database."""
    engine = create_engine("sqlite://")
    with engine.connect() as connection:
        return list(connection.execute(text(sql)).all())


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'a' AS id, 2024 AS year, '宜宾' AS label UNION ALL SELECT 'b', 2025, NULL",
        # Another order, and a column the model does not show: read by position all the same.
        "SELECT NULL AS label, 'x' AS secret, 2024 AS year, 'a' AS id UNION ALL "
        "SELECT '泸州', 'y', 2025, 'b'",
    ],
)
def test_plain_rows_of_core_rows_are_their_plain_fields(sql: str) -> None:
    rows = _core_rows(sql)
    assert plain_rows(Flat, rows) == [plain_fields(Flat, row) for row in rows]
    assert [sorted(item) for item in plain_rows(Flat, rows)] == [["id", "label", "year"]] * 2
    assert [item["id"] for item in plain_rows(Flat, rows)] == ["a", "b"]


def test_plain_rows_of_mappings_objects_and_nested_models() -> None:
    mappings = [{"label": None, "year": 1, "id": "a", "extra": 0}]
    assert plain_rows(Flat, mappings) == [{"id": "a", "year": 1, "label": None}]
    objects = [_row(None), _row({"year": 1, "label": "x"})]
    assert plain_rows(Outer, objects) == [plain_fields(Outer, row) for row in objects]
    assert plain_rows(Flat, []) == []


def test_plain_rows_missing_a_field_is_an_error_as_plain_fields_is() -> None:
    rows = _core_rows("SELECT 'a' AS id, 2024 AS year")
    with pytest.raises(KeyError, match="label"):
        plain_rows(Flat, rows)
