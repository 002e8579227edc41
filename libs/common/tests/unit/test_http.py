"""ETags, If-Match parsing and cursors."""

from __future__ import annotations

import pytest

from shulian_common.errors import (
    BadRequestError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from shulian_common.http import decode_cursor, encode_cursor, etag, expected_versions


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
