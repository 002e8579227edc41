"""ETags, If-Match parsing, cursors and the Idempotency-Key fingerprint."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
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
    idempotency_of,
)


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


class _Body(BaseModel):
    title: str
    tags: dict[str, int]


def _request(method: str = "POST", path: str = "/v1/notes") -> Request:
    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": []}
    return Request(scope)


def _caller(sub: str = "op-1") -> Principal:
    return Principal(sub=sub, role=Role.PROVINCE_ADMIN, node="510000", division="510000")


def test_the_fingerprint_names_method_path_and_body_and_the_key_is_the_callers() -> None:
    body = _Body(title="甲", tags={"a": 1, "b": 2})
    first = idempotency_of(_request(), _caller(), "k", body)
    reordered = idempotency_of(_request(), _caller(), "k", _Body(title="甲", tags={"b": 2, "a": 1}))
    others = [
        idempotency_of(_request("PUT"), _caller(), "k", body),
        idempotency_of(_request(path="/v1/other"), _caller(), "k", body),
        idempotency_of(_request(), _caller(), "k", _Body(title="乙", tags={"a": 1, "b": 2})),
    ]

    assert first is not None
    assert reordered is not None
    assert (first.key, first.principal_sub, len(first.fingerprint)) == ("k", "op-1", 64)
    assert reordered.fingerprint == first.fingerprint
    assert all(o is not None and o.fingerprint != first.fingerprint for o in others)
    another_caller = idempotency_of(_request(), _caller("op-2"), "k", body)
    assert another_caller is not None
    assert (another_caller.principal_sub, another_caller.fingerprint) == ("op-2", first.fingerprint)
    assert idempotency_of(_request(), _caller(), None, body) is None
