"""A route's whole query string validated as one pydantic model, in one pass.

FastAPI solves each query parameter of a route on its own, per request: it re-inspects the
parameter's annotation (is it a sequence? a model? JSON?), looks its aliases up, deep-copies its
default and runs a validator per parameter, then collects the errors. For a search with eleven
parameters that was about a fifth of the request's CPU (issue 13). Here the route declares one
model instead::

    class SupplierSearch(QueryModel):
        q: Annotated[str | None, Field(max_length=100, description="…")] = None
        city: Annotated[list[str], Field(description="…")] = []
        cursor: Cursor = None
        limit: Limit = None

    SearchDep = Annotated[SupplierSearch, Depends(query_model(SupplierSearch))]

(``page_of(search, settings)`` is then the page, as ``http.PageDep`` reads it)
and ``query_model``'s dependency groups the query string's items by the model's fields (a list
field takes every value of its key, any other field the last one, as FastAPI does) and validates
them with one ``model_validate``. A failure is FastAPI's own ``RequestValidationError`` with
FastAPI's locations (``["query", "city", 0]``), so the 422 problem and its ``errors`` are those
of separate parameters (listed in the model's field order, where FastAPI lists a dependency's
parameters, e.g. the page's, before the route's own).

The OpenAPI document keeps one parameter per field, as FastAPI documents a query-parameter model
(``Annotated[Model, Query()]``): ``install_query_models_openapi`` shows those parameters to
FastAPI's generator while it builds the document, and only then (the dependency FastAPI solves
per request takes nothing but the request).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Protocol, TypeVar, Union, get_args, get_origin

from fastapi import FastAPI, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shulian_common.http import PageParams, page_at
from shulian_common.settings import Settings

M = TypeVar("M", bound=BaseModel)

_QUERY_MODEL = "__shulian_query_model__"
_SEQUENCES = (list, set, frozenset, tuple, Sequence)

Cursor = Annotated[str | None, Field(description="`next_cursor` of the previous page")]
Limit = Annotated[int | None, Field(ge=1, description="page size (default 20, capped at 100)")]


class QueryModel(BaseModel):
    """A route's query parameters: unknown keys are ignored, as FastAPI ignores them."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Paged(Protocol):
    """A query model with the page's fields (declared where the route lists them:
    ``cursor: Cursor = None``, ``limit: Limit = None``)."""

    @property
    def cursor(self) -> str | None: ...

    @property
    def limit(self) -> int | None: ...


def page_of(query: Paged, settings: Settings) -> PageParams:
    """Where the page starts and its size, as ``http.page_params`` reads them (capped by the
    settings; 400 ``invalid_cursor`` when the cursor is not one of ours)."""
    return page_at(query.cursor, query.limit, settings)


def _is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_sequence(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return any(_is_sequence(arg) for arg in get_args(annotation) if arg is not type(None))
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _keys(model: type[BaseModel]) -> tuple[frozenset[str], frozenset[str]]:
    """The query keys of ``model``'s fields (their aliases), and those of its list fields."""
    keys: set[str] = set()
    lists: set[str] = set()
    for name, field in model.model_fields.items():
        key = field.alias or name
        keys.add(key)
        if _is_sequence(field.annotation):
            lists.add(key)
    return frozenset(keys), frozenset(lists)


def query_model(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency answering the request's query string validated as ``model`` (a
    ``QueryModel``) in one pass; 422 ``validation_failed`` with FastAPI's locations otherwise.
    The app documents its fields as query parameters (``install_query_models_openapi``)."""
    keys, lists = _keys(model)
    validate = model.model_validate

    async def parse_query(request: Request) -> M:
        values: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in lists:
                values.setdefault(key, []).append(value)
            elif key in keys:
                values[key] = value  # the last of repeated values, as FastAPI takes it
        try:
            return validate(values)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            for error in errors:
                error["loc"] = ("query", *error["loc"])
            raise RequestValidationError(errors) from None

    setattr(parse_query, _QUERY_MODEL, model)
    parse_query.__qualname__ = f"query_model({model.__name__})"
    return parse_query


def _documented(model: type[BaseModel]) -> Dependant:
    """What FastAPI makes of ``model`` declared as a query-parameter model."""

    def parameters(**_: Any) -> None:
        """Documentation only: never called."""

    annotation = Annotated[model, Query()]  # type: ignore[valid-type]
    kind = inspect.Parameter.KEYWORD_ONLY
    parameters.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("params", kind, annotation=annotation)]
    )
    return get_dependant(path="", call=parameters)


def _model_dependants(app: FastAPI) -> Iterator[tuple[Dependant, type[BaseModel]]]:
    """Every dependant of the app's routes solved by a ``query_model`` dependency."""
    seen: set[int] = set()
    stack: list[Dependant] = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if isinstance(dependant, Dependant):
            stack.append(dependant)
    while stack:
        dependant = stack.pop()
        if id(dependant) in seen:
            continue
        seen.add(id(dependant))
        model = getattr(dependant.call, _QUERY_MODEL, None)
        if model is not None:
            yield dependant, model
        stack.extend(dependant.dependencies)


@contextmanager
def _parameters_shown(app: FastAPI) -> Iterator[None]:
    documented: dict[type[BaseModel], Dependant] = {}
    shown: list[Dependant] = []
    try:
        for dependant, model in _model_dependants(app):
            if model not in documented:
                documented[model] = _documented(model)
            dependant.query_params = list(documented[model].query_params)
            shown.append(dependant)
        yield
    finally:
        for dependant in shown:
            dependant.query_params = []


def install_query_models_openapi(app: FastAPI) -> None:
    """Document each ``query_model`` dependency's fields as the route's query parameters.

    FastAPI builds the document from the same dependants it solves per request, so their
    parameters are shown only while it builds it (synchronously, in one go: no request is
    solved meanwhile on the event loop), then removed again.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        with _parameters_shown(app):
            return build()

    app.openapi = openapi  # type: ignore[method-assign]
