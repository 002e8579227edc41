"""ETags, If-Match parsing, cursors, the Idempotency-Key fingerprint and JSON bytes."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from pydantic import BaseModel
from pydantic_core import to_json
from starlette.requests import Request

from shulian_common.auth import Principal, Role
from shulian_common.errors import (
    BadRequestError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from shulian_common.http import (
    decode_cursor,
    encode_cursor,
    etag,
    expected_versions,
    fingerprint,
    get_idempotency,
    json_response,
)
from shulian_common.idempotency import Idempotency


def test_if_match_accepts_our_etags_weak_or_strong() -> None:
    assert expected_versions(etag(3)) == {3}
    assert expected_versions('W/"3"') == {3}
    assert expected_versions('"3", "4"') == {3, 4}
    assert expected_versions("*") is None


def test_a_missing_if_match_is_428_and_a_foreign_one_412() -> None:
    with pytest.raises(PreconditionRequiredError):
        expected_versions(None)
    for foreign in ("3", '"abc"', "", 'W/"x"'):
        with pytest.raises(PreconditionFailedError):
            expected_versions(foreign)


def test_cursors_round_trip_and_reject_garbage() -> None:
    assert decode_cursor(encode_cursor("0192abc")) == "0192abc"
    assert decode_cursor(None) is None
    for garbage in ("%%%", "bm90IGpzb24", "eyJ4IjoxfQ", "eyJhZnRlciI6MX0"):
        with pytest.raises(BadRequestError):
            decode_cursor(garbage)


def test_the_fingerprint_names_method_path_and_body_but_not_its_layout() -> None:
    body = '{"title": "甲", "tags": {"a": 1, "b": 2}}'.encode()
    first = fingerprint("POST", "/v1/notes", body)
    relaid = fingerprint("POST", "/v1/notes", '{"tags":{"b":2,"a":1},"title":"甲"}'.encode())
    others = {
        fingerprint("PUT", "/v1/notes", body),
        fingerprint("POST", "/v1/other", body),
        fingerprint("POST", "/v1/notes", '{"title": "乙", "tags": {"a": 1, "b": 2}}'.encode()),
        fingerprint("POST", "/v1/notes", b"not json"),
        fingerprint("POST", "/v1/notes", b""),
    }

    assert len(first) == 64
    assert relaid == first
    assert first not in others
    assert len(others) == 5


async def _idempotency(key: str | None, sub: str = "op-1") -> Idempotency | None:
    scope = {"type": "http", "method": "POST", "path": "/v1/notes", "headers": []}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b'{"title": "x"}', "more_body": False}

    caller = Principal(sub=sub, role=Role.PROVINCE_ADMIN, node="510000", division="510000")
    return await get_idempotency(Request(scope, receive), caller, key)


async def test_an_idempotency_key_is_scoped_to_its_caller() -> None:
    mine, theirs = await _idempotency("k"), await _idempotency("k", sub="op-2")

    assert mine is not None
    assert theirs is not None
    assert (mine.key, mine.principal_sub, theirs.principal_sub) == ("k", "op-1", "op-2")
    assert mine.fingerprint == fingerprint("POST", "/v1/notes", b'{"title": "x"}')
    assert await _idempotency(None) is None


class _Kind(enum.StrEnum):
    PARK = "park"


class _Place(BaseModel):
    name: str
    at: datetime


@pytest.mark.parametrize(
    "body",
    [
        {"items": [], "next_cursor": None},
        {"s": "园区 <a href='/'>\u2028", "n": 3, "f": 0.1, "big": 1e20, "neg": -2.5, "t": True},
        {"utc": datetime(2026, 1, 2, 8, 30, 1, 123456, tzinfo=UTC), "at": datetime(2026, 1, 2)},
        {
            "cst": datetime(2026, 1, 2, 8, 30, tzinfo=timezone(timedelta(hours=8))),
            "d": date(2026, 1, 2),
        },
        {
            "kind": _Kind.PARK,
            "price": Decimal("12.50"),
            "tags": {"x"},
            "wait": timedelta(seconds=90),
        },
        {"id": UUID(int=7), "model": _Place(name="x", at=datetime(2026, 1, 2, tzinfo=UTC))},
        {"inf": float("inf"), "nan": float("nan"), "nested": [[1, {"a": None}], ()]},
        {1: "an int key"},  # orjson refuses: pydantic-core writes it
        {"huge": 2**70},  # beyond 64 bits: likewise
    ],
)
def test_json_response_writes_what_pydantic_writes(body: dict[object, object]) -> None:
    # As a model serialises (non-finite floats as null: valid JSON, unlike `Infinity`).
    assert json_response(body).body == to_json(body, inf_nan_mode="null")
