"""The HTTP kit every service's routes use: ETags and If-Match (428/412), the Idempotency-Key
header and its request fingerprint, record responses, and cursor pages capped by the settings."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from pydantic_core import to_json, to_jsonable_python

from shulian_common.deps import PrincipalDep, get_principal
from shulian_common.errors import (
    BadRequestError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from shulian_common.idempotency import Created, Idempotency
from shulian_common.records import R, Versions
from shulian_common.schemas import Page, plain_rows
from shulian_common.settings import Settings

S = TypeVar("S")
T = TypeVar("T")
_ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"
_JSON = "application/json"
# A router dependency: every route behind it needs a valid token.
Authenticated = Depends(get_principal)


def _id_of(row: Any) -> Any:
    """The ``id`` of an object or a row, or of a mapping of columns (a driver's record)."""
    try:
        return row.id
    except AttributeError:
        return row["id"]


def etag(version: int) -> str:
    """The entity tag of a record version."""
    return f'"{version}"'


def expected_versions(if_match: str | None) -> Versions:
    """Versions an ``If-Match`` accepts; ``None`` for ``*``. Missing → 428, unparseable → 412."""
    if if_match is None:
        raise PreconditionRequiredError("修改须带 If-Match 请求头（取自 GET 返回的 ETag）")
    if if_match.strip() == "*":
        return None
    versions = set()
    for tag in if_match.split(","):
        match = _ETAG.match(tag)
        if match is None:
            raise PreconditionFailedError(f"If-Match 值 {if_match!r} 不是本服务签发的 ETag")
        versions.add(int(match.group(1)))
    return frozenset(versions)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag of the version the change is based on, e.g. `"3"`',
    ),
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Retry-safe creation: the same key and body answer with what the first "
        "request created (header `Idempotent-Replayed: true`)",
    ),
]


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same: SHA-256 of method, path and the body's canonical JSON
    (key order and whitespace aside; a body that is not JSON counts as its bytes)."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, ensure_ascii=False)
    except ValueError:
        canonical = body.decode(errors="replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


async def get_idempotency(
    request: Request, principal: PrincipalDep, key: IdempotencyKeyHeader = None
) -> Idempotency | None:
    """The request's ``Idempotency-Key`` scoped to the caller, with the request's fingerprint."""
    if key is None:
        return None
    digest = fingerprint(request.method, request.url.path, await request.body())
    return Idempotency(key=key, principal_sub=principal.sub, fingerprint=digest)


# A creating route takes ``idempotency: IdempotencyDep`` and hands it to its handler.
IdempotencyDep = Annotated[Idempotency | None, Depends(get_idempotency)]


def created_response(created: Created[Any], body: BaseModel, *, location: str) -> JSONResponse:
    """201 with the rendered record, its ETag and Location; replays say so in a header."""
    headers = {"Location": location, "ETag": etag(created.record.version)}
    if created.replayed:
        headers[IDEMPOTENT_REPLAYED] = "true"
    return JSONResponse(body.model_dump(mode="json"), status_code=201, headers=headers)


def model_response(body: BaseModel) -> Response:
    """``body`` as JSON, serialised by pydantic in one pass (no intermediate dicts)."""
    return Response(body.model_dump_json(), media_type="application/json")


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Plain data (dicts, lists, rows' values: str, numbers, datetimes, enums, decimals) as JSON
    bytes, serialised once by pydantic-core in Rust, formatted as pydantic formats models.

    Nothing is validated: the route declares its ``response_model`` (which the OpenAPI shows)
    and builds exactly that shape from rows it trusts; a test of the route checks the body
    against the model (``shulian_common.testing.assert_conforms``). Building and validating a
    model per row only to serialise it cost more than the query of a search (issue 13).

    Written by orjson (a page of 20 directory entries: 36 µs against pydantic-core's 180 µs),
    in the format of a pydantic model's JSON: UTC as ``Z``, infinities and NaN as ``null``,
    what orjson does not know itself (decimals, sets, models, timedeltas) handed to
    pydantic-core's ``to_jsonable_python``; a body orjson refuses (an integer beyond 64 bits,
    a key that is not a string) is written by pydantic-core's ``to_json``.
    """
    return Response(_json_bytes(body), status_code=status, headers=headers, media_type=_JSON)


def _json_bytes(body: Any) -> bytes:
    try:
        return orjson.dumps(body, default=to_jsonable_python, option=orjson.OPT_UTC_Z)
    except TypeError:  # orjson.JSONEncodeError
        return to_json(body, inf_nan_mode="null")


def record_response(body: BaseModel, *, version: int, status: int = 200) -> JSONResponse:
    """A record with its ETag."""
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers={"ETag": etag(version)}
    )


# --- pages ------------------------------------------------------------------------------------


def encode_cursor(last_id: str) -> str:
    """An opaque cursor pointing after ``last_id``."""
    raw = json.dumps({"after": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id a cursor points after; 400 ``invalid_cursor`` when it is not one of ours."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadRequestError("分页游标无效", code="invalid_cursor") from None
    if not isinstance(after, str):
        raise BadRequestError("分页游标无效", code="invalid_cursor")
    return after


@dataclass(frozen=True, slots=True)
class PageParams:
    """Where a page starts (after which id) and how many rows it holds."""

    after: str | None
    limit: int

    @property
    def fetch(self) -> int:
        """Rows to ask for: one more than a page tells whether another page follows."""
        return self.limit + 1

    def split(self, rows: Sequence[S]) -> tuple[Sequence[S], str | None]:
        """The rows of the page (of ``rows``, fetched with ``fetch``) and the next cursor."""
        shown = rows[: self.limit]
        more = len(rows) > self.limit and bool(shown)
        return shown, encode_cursor(_id_of(shown[-1])) if more else None

    def build(self, rows: Sequence[R], render: Callable[[R], T]) -> Page[T]:
        """The page of ``rows`` (fetched with ``fetch``), rendered, with the next cursor."""
        shown, next_cursor = self.split(rows)
        return Page[T](items=[render(row) for row in shown], next_cursor=next_cursor)

    def response(self, rows: Sequence[S], render: Callable[[S], Mapping[str, Any]]) -> Response:
        """The page of ``rows`` as JSON bytes, each row rendered to the plain fields of the
        route's item model, serialised once (``json_response``): the lean path of list routes."""
        shown, next_cursor = self.split(rows)
        return json_response({"items": [render(row) for row in shown], "next_cursor": next_cursor})

    def plain_response(self, rows: Sequence[Any], model: type[BaseModel]) -> Response:
        """``response`` for rows that are ``model``'s fields as they are (the rows of a
        statement selecting the table its read model mirrors): rendered by ``plain_rows``."""
        shown, next_cursor = self.split(rows)
        return json_response({"items": plain_rows(model, shown), "next_cursor": next_cursor})


async def page_params(
    request: Request,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
    limit: Annotated[
        int | None, Query(ge=1, description="page size (default 20, capped at 100)")
    ] = None,
) -> PageParams:
    """``cursor`` and ``limit`` query parameters, the limit capped by the settings.

    ``async`` on purpose, like every dependency of the kit: FastAPI runs plain ``def``
    dependencies in a worker thread, a hop that costs more than the rest of a typical search.
    The settings are read from the app, not through ``SettingsDep`` (see ``deps``).
    """
    return page_at(cursor, limit, request.app.state.settings)


def page_at(cursor: str | None, limit: int | None, settings: Settings) -> PageParams:
    """The page after ``cursor`` (400 ``invalid_cursor`` when it is not one of ours) of
    ``limit`` rows, by default and at most as many as the settings say."""
    wanted = limit or settings.page_limit_default
    return PageParams(after=decode_cursor(cursor), limit=min(wanted, settings.page_limit_max))


PageDep = Annotated[PageParams, Depends(page_params)]
