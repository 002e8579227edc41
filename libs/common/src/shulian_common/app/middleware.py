"""Request context: an id per request (echoed and logged), an access log, a last-resort 500,
and the refusal of text no database can store."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shulian_common.errors import InvalidCharacterError, internal_error_response, problem_response
from shulian_common.errors.redact import loggable
from shulian_common.logs import (
    bind_request_id,
    bind_service,
    reset_request_id,
    reset_service,
)

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("shulian.access")

REQUEST_ID_HEADER = "X-Request-ID"
# Incoming ids are echoed into headers and logs: accept only short, plain tokens.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Gives each request an id (kept from X-Request-ID when sane), echoes it, logs the request,
    and turns an unhandled exception into a 500 problem that names only the request id."""

    def __init__(self, app: ASGIApp, *, service: str, node: str) -> None:
        self.app = app
        self.service = service
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        tokens = (bind_request_id(request_id), bind_service(self.service, self.node))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            logger.error("unhandled error", exc_info=loggable(exc))
            await internal_error_response(Request(scope))(scope, receive, send_with_id)
        finally:
            _log_access(scope, status, time.perf_counter() - started)
            reset_request_id(tokens[0])
            reset_service(tokens[1])


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    path = scope.get("path", "")
    level = logging.DEBUG if path in ("/healthz", "/readyz") else logging.INFO
    access_logger.log(
        level,
        "%s %s %d",
        scope.get("method"),
        path,
        status,
        extra={"http_status": status, "duration_ms": round(seconds * 1000, 1)},
    )


# U+0000 (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON body can only smuggle either in as a \u escape (a raw control byte is invalid JSON),
# so bodies without one are passed on unparsed.
_JSON_ESCAPE_SUSPECTS = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]", re.ASCII)
Loc = list[str | int]


class RefuseUnstorableTextMiddleware:
    """Answers 422 ``invalid_character`` for a request carrying U+0000 or a lone surrogate in
    its path, query, headers or JSON body, before any route sees it.

    Checked once here for every route rather than per field: such text reached PostgreSQL as a
    500 (whose log line carried the other parameters), and SQLite stores it silently."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loc = _unstorable_in_request_line(scope)
        if loc is None and _may_be_json(scope):
            body, receive = await _buffered(receive)
            loc = _unstorable_in_json(body)
        if loc is None:
            await self.app(scope, receive, send)
            return
        await _refusal(scope, loc)(scope, receive, send)


def _unstorable_in_request_line(scope: Scope) -> Loc | None:
    if _UNSTORABLE.search(scope.get("path", "")):
        return ["path"]
    raw_query: bytes = scope.get("query_string", b"")
    # Decoded as the routes decode it (UTF-8, errors replaced), a query can only carry U+0000,
    # as ``%00`` (a raw NUL ends the request line): without one, nothing to parse.
    if b"%00" not in raw_query and b"\x00" not in raw_query:
        raw_query = b""
    for name, value in parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True):
        if _UNSTORABLE.search(name) or _UNSTORABLE.search(value):
            return ["query", name]
    for name, value in scope.get("headers", ()):
        if b"\x00" in value:
            return ["header", name.decode("latin-1")]
    return None


def _may_be_json(scope: Scope) -> bool:
    # FastAPI parses a body without a content type as JSON too.
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return True


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that hands the same messages on to the app."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay


def _unstorable_in_json(body: bytes) -> Loc | None:
    if not _JSON_ESCAPE_SUSPECTS.search(body):
        return None
    try:
        doc = json.loads(body)
    except ValueError:  # not JSON: the route's own parsing answers that
        return None
    return next(_unstorable_paths(doc, ["body"]), None)


def _unstorable_paths(value: Any, loc: Loc) -> Iterator[Loc]:
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if _UNSTORABLE.search(key):
                yield loc
            yield from _unstorable_paths(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, [*loc, index])


def _refusal(scope: Scope, loc: Loc) -> JSONResponse:
    issue = {
        "loc": [_printable(part) for part in loc],
        "msg": "text must not contain U+0000 or unpaired surrogates",
        "type": "invalid_character",
    }
    return problem_response(
        Request(scope),
        status=InvalidCharacterError.status,
        code=InvalidCharacterError.code,
        title=InvalidCharacterError.title,
        detail="请求中含有 U+0000 或不成对的代理字符，无法保存",
        extra={"errors": [issue]},
    )


def _printable(part: str | int) -> str | int:
    # The location is echoed back: it must not carry the offending characters itself.
    return _UNSTORABLE.sub("\ufffd", part) if isinstance(part, str) else part
