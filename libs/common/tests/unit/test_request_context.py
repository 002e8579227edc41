"""The service middleware's per-request work: a request id of 32 hex digits when none is
given, and a body awaited (to refuse unstorable text) only when the request frames one that
may be JSON."""

from __future__ import annotations

import re

import pytest
from starlette.types import Message, Receive, Scope, Send

from shulian_common.app.middleware import ServiceMiddleware, _may_be_json, _request_id_from

NUL_JSON = b'{"name": "a\\u0000b"}'


def test_a_generated_request_id_is_32_hex_digits_and_new_each_time() -> None:
    ids = {_request_id_from({"headers": []}) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch("[0-9a-f]{32}", request_id) for request_id in ids)
    assert _request_id_from({"headers": [(b"x-request-id", b"abc-1")]}) == "abc-1"
    assert _request_id_from({"headers": [(b"x-request-id", b"bad id")]}) != "bad id"


@pytest.mark.parametrize(
    ("headers", "may_be_json"),
    [
        ([], False),
        ([(b"content-type", b"application/json")], False),
        ([(b"content-length", b"0")], False),
        ([(b"content-length", b"0"), (b"content-type", b"application/json")], False),
        ([(b"content-length", b"12")], True),
        ([(b"content-length", b"12"), (b"content-type", b"application/json")], True),
        ([(b"content-length", b"12"), (b"content-type", b"Application/Merge-Patch+JSON")], True),
        ([(b"content-length", b"12"), (b"content-type", b"text/plain")], False),
        ([(b"transfer-encoding", b"chunked")], True),
        ([(b"transfer-encoding", b"chunked"), (b"content-type", b"text/plain")], False),
        (
            [
                (b"content-type", b"text/plain"),
                (b"content-type", b"application/json"),
                (b"content-length", b"12"),
            ],
            False,
        ),
    ],
)
def test_only_a_framed_json_or_untyped_body_is_read(
    headers: list[tuple[bytes, bytes]], may_be_json: bool
) -> None:
    assert _may_be_json({"headers": headers}) is may_be_json


async def _serve(method: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, int]:
    """The status answered and how many times the middleware (or the app) called ``receive``."""
    received = 0
    statuses: list[int] = []

    async def receive() -> Message:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope: Scope = {
        "type": "http",
        "method": method,
        "path": "/things",
        "raw_path": b"/things",
        "query_string": b"",
        "headers": headers,
        "root_path": "",
        "scheme": "http",
        "server": ("test", 80),
        "app": None,
    }
    await ServiceMiddleware(app, service="test", node="510000")(scope, receive, send)
    return statuses[0], received


async def test_a_request_without_a_body_is_not_awaited() -> None:
    assert await _serve("GET", [], b"") == (204, 0)


async def test_a_framed_body_with_unstorable_text_is_refused_whatever_the_method() -> None:
    length = str(len(NUL_JSON)).encode()
    for method in ("GET", "POST"):
        assert await _serve(method, [(b"content-length", length)], NUL_JSON) == (422, 1)
        chunked = [(b"transfer-encoding", b"chunked"), (b"content-type", b"application/json")]
        assert await _serve(method, chunked, NUL_JSON) == (422, 1)
