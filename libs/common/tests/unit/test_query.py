"""A query string validated as one model: the same parameters documented, the same values and
the same 422 problems as separate FastAPI query parameters, with nothing left for FastAPI to
solve per request."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Query
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import Field

from shulian_common.errors import BadRequestError, install_error_handlers
from shulian_common.http import PageDep, PageParams, encode_cursor
from shulian_common.query import (
    Cursor,
    Limit,
    QueryModel,
    install_query_models_openapi,
    page_of,
    query_model,
)
from shulian_common.settings import Settings


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


Code6 = Annotated[str | None, Field(pattern=r"^\d{6}$")]


class Search(QueryModel):
    q: Annotated[str | None, Field(max_length=5, description="free text")] = None
    city: Annotated[list[str], Field(description="city codes")] = []  # noqa: RUF012
    colour: list[Colour] = []  # noqa: RUF012
    size: list[int] | None = None
    code: Code6 = None
    high_end: bool | None = None
    starts_before: Annotated[datetime | None, Field(alias="to", description="before")] = None
    cursor: Cursor = None
    limit: Limit = None


def _as_parameters(
    page: PageDep,
    q: Annotated[str | None, Query(max_length=5, description="free text")] = None,
    city: Annotated[list[str], Query(description="city codes")] = [],  # noqa: B006
    colour: Annotated[list[Colour], Query()] = [],  # noqa: B006
    size: Annotated[list[int] | None, Query()] = None,
    code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    high_end: bool | None = None,
    starts_before: Annotated[datetime | None, Query(alias="to", description="before")] = None,
) -> dict[str, Any]:
    values = {
        "q": q,
        "city": city,
        "colour": colour,
        "size": size,
        "code": code,
        "high_end": high_end,
        "to": starts_before,
    }
    return {**values, "page": [page.after, page.limit]}


def _as_model(search: Search, page: PageParams) -> dict[str, Any]:
    values = search.model_dump(by_alias=True, exclude={"cursor", "limit"})
    return {**values, "page": [page.after, page.limit]}


def _apps() -> tuple[FastAPI, FastAPI]:
    """The same route twice: FastAPI's separate parameters, and one query model."""
    settings = Settings(env="test")
    separate, modelled = FastAPI(), FastAPI()
    for app in (separate, modelled):
        app.state.settings = settings
        install_error_handlers(app)
    install_query_models_openapi(modelled)

    # The page's parameters come last here, so the model declares them last too.
    @separate.get("/things")
    async def things(values: Annotated[dict[str, Any], Depends(_as_parameters)]) -> Any:
        return values

    @modelled.get("/things")
    async def things_by_model(search: Annotated[Search, Depends(query_model(Search))]) -> Any:
        return _as_model(search, page_of(search, settings))

    return separate, modelled


def _parameters(app: FastAPI) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = app.openapi()["paths"]["/things"]["get"]["parameters"]
    return parameters


def test_the_model_is_documented_as_the_same_query_parameters() -> None:
    separate, modelled = _apps()

    # Same names, types, descriptions, constraints, and the page's two at the end.
    by_name = {p["name"]: p for p in _parameters(separate)}
    assert {p["name"]: p for p in _parameters(modelled)} == by_name
    assert [p["name"] for p in _parameters(modelled)][-2:] == ["cursor", "limit"]
    components = modelled.openapi()["components"]["schemas"]
    assert components["Colour"] == separate.openapi()["components"]["schemas"]["Colour"]


def test_fastapi_solves_no_query_parameter_of_the_model_per_request() -> None:
    _, modelled = _apps()
    modelled.openapi()  # documented once, then taken back out of the solved dependants

    route = next(r for r in modelled.routes if isinstance(r, APIRoute) and r.path == "/things")
    assert get_flat_params(route.dependant) == []
    assert _parameters(modelled)  # and shown again when the document is built afresh
    modelled.openapi_schema = None
    assert len(_parameters(modelled)) == 9


QUERIES = [
    "",
    "q=abc&city=510100&city=511500&colour=red&colour=blue&size=3&size=4&code=511500",
    "high_end=yes&to=2026-12-01T08:00:00&limit=5",
    f"cursor={encode_cursor('0192')}&limit=1000",
    "q=abcdef",
    "q=a&q=abcdefgh",  # the last of repeated scalars counts
    "limit=5&limit=x",
    "colour=red&colour=green&colour=pink",
    "size=1&size=x",
    "code=12",
    "code=",
    "limit=0",
    "limit=",
    "high_end=maybe",
    "to=soon",
    "starts_before=soon&unknown=1",  # a field's own name is not its key; others are ignored
    "city=&city=510100",
    "q=abcdef&limit=0&colour=green&code=1",  # every error at once
    "cursor=%25%25%25",
]


@pytest.mark.parametrize("query", QUERIES)
def test_values_and_problems_are_those_of_separate_parameters(query: str) -> None:
    separate, modelled = _apps()
    with TestClient(separate) as one, TestClient(modelled) as other:
        expected = one.get(f"/things?{query}")
        got = other.get(f"/things?{query}")

    assert (got.status_code, got.headers["content-type"]) == (
        expected.status_code,
        expected.headers["content-type"],
    )
    body, wanted = got.json(), expected.json()
    # FastAPI lists a sub-dependency's errors (the page's) before the route's own; the model
    # lists them in its fields' order. Same errors, same problem otherwise.
    assert sorted(body.pop("errors", []), key=str) == sorted(wanted.pop("errors", []), key=str)
    assert body == wanted


def test_a_page_is_read_and_capped_as_page_params_reads_it() -> None:
    settings = Settings(env="test")

    page = page_of(Search(cursor=encode_cursor("0192"), limit=1000), settings)

    assert page == PageParams(after="0192", limit=settings.page_limit_max)
    assert page_of(Search(), settings).limit == settings.page_limit_default
    with pytest.raises(BadRequestError):
        page_of(Search(cursor="%%%"), settings)
