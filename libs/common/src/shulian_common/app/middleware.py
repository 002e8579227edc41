"""Request context: an id per request (echoed and logged), an access log, a last-resort 500,
and the refusal of text no database can store."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shulian_common.app.dispatch import ExactRoutes
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
    # 32 hex digits, as ``uuid4().hex`` gave, without building a UUID (and its int) per request.
    return os.urandom(16).hex()


class ServiceMiddleware:
    """The kit's one middleware, for every HTTP request: an id (kept from X-Request-ID when
    sane), echoed and bound to the logs with the service; an access log line; the refusal
    (422 ``invalid_character``) of a request carrying text no database can store, before any
    route sees it; and an unhandled exception turned into a 500 problem naming only the
    request id.

    One layer instead of two: each middleware is a coroutine and a ``send`` wrapper per request
    (issue 13). Given ``exceptions`` (``service_stack``), it also does the work of FastAPI's
    innermost layers, so that it can sit right on the router: the exception handlers of
    Starlette's ``ExceptionMiddleware`` (in the scope for the routes, and around the router for
    its own 404 and 405), and the exit stack FastAPI's request handler expects in the scope.
    Other scopes (lifespan, websockets) then go to ``standard``, FastAPI's own stack. Given
    ``routes`` too, a request whose exact path and method select a route is handed to that
    route without walking the router (``dispatch``); any other goes through the router.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        node: str,
        exceptions: ExceptionMiddleware | None = None,
        standard: ASGIApp | None = None,
        routes: ExactRoutes | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.node = node
        self.handlers = (
            None
            if exceptions is None
            else (exceptions._exception_handlers, exceptions._status_handlers)
        )
        self.standard = standard or app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.standard(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        tokens = (bind_request_id(request_id), bind_service(self.service, self.node))
        status = 0  # none sent yet
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            loc = _unstorable_in_request_line(scope)
            if loc is None and _may_be_json(scope):
                body, receive = await _buffered(receive)
                loc = _unstorable_in_json(body)
            if loc is not None:
                await _refusal(scope, loc)(scope, receive, send_with_id)
            elif self.handlers is None:
                await self.app(scope, receive, send_with_id)
            else:
                await self._route(scope, receive, send_with_id, lambda: status != 0)
        except Exception as exc:
            logger.error("unhandled error", exc_info=loggable(exc))
            await internal_error_response(Request(scope))(scope, receive, send_with_id)
        finally:
            _log_access(scope, status or 500, time.perf_counter() - started)
            reset_request_id(tokens[0])
            reset_service(tokens[1])

    async def _route(
        self, scope: Scope, receive: Receive, send: Send, responded: Callable[[], bool]
    ) -> None:
        """The router (or the route an exact path selects), with what ``ExceptionMiddleware``
        and ``AsyncExitStackMiddleware`` give."""
        assert self.handlers is not None
        scope["starlette.exception_handlers"] = self.handlers
        async with AsyncExitStack() as stack:
            scope["fastapi_middleware_astack"] = stack
            try:
                app = None if self.routes is None else self.routes.app_for(scope)
                await (app or self.app)(scope, receive, send)
            except Exception as exc:
                await self._handle(exc, scope, receive, send, responded())

    async def _handle(
        self, exc: Exception, scope: Scope, receive: Receive, send: Send, responded: bool
    ) -> None:
        """As ``starlette._exception_handler.wrap_app_handling_exceptions`` handles ``exc``."""
        assert self.handlers is not None
        exception_handlers, status_handlers = self.handlers
        handler: Any = None
        if isinstance(exc, HTTPException):
            handler = status_handlers.get(exc.status_code)
        if handler is None:
            handler = next(
                (exception_handlers[cls] for cls in type(exc).__mro__ if cls in exception_handlers),
                None,
            )
        if handler is None:
            raise exc
        if responded:
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        request = Request(scope, receive, send)
        if is_async_callable(handler):
            response = await handler(request, exc)
        else:
            response = await run_in_threadpool(handler, request, exc)
        if response is not None:
            await response(scope, receive, send)
        exc.__traceback__ = None  # a reused exception instance would accumulate tracebacks


def service_stack(app: FastAPI, standard: ASGIApp) -> ASGIApp:
    """The middleware stack of a service app (``ServiceApp.build_middleware_stack``): its
    ``ServiceMiddleware`` right on the router, instead of FastAPI's ``standard`` stack around
    it (``ServerErrorMiddleware``, ``ExceptionTelemetryMiddleware``, ``AppBodyLimitMiddleware``,
    then ``ExceptionMiddleware`` and ``AsyncExitStackMiddleware`` inside it): five coroutine
    layers per request that, in a service, have nothing left to do. The service middleware
    answers every exception itself, so the outer three never see one (FastAPI's exception
    telemetry only records what reaches it), and the kit sets no app-wide body limit (a
    route's own ``max_body_size`` is applied by its handler). ``standard`` is kept where any of
    that does not hold: another middleware added, an app-wide body limit, debug mode. A
    request whose exact path selects a route goes straight to it (``dispatch.ExactRoutes``).

    OpenTelemetry's FastAPI instrumentation (``telemetry``) re-wraps whatever is inside an
    outermost ``ServerErrorMiddleware``: an instrumented app gets one, as FastAPI's stack has."""
    middleware = app.user_middleware
    added: Any = middleware[0].cls if len(middleware) == 1 else None
    if added is not ServiceMiddleware or app.max_body_size is not None or app.debug:
        return standard
    handlers = {
        key: handler
        for key, handler in app.exception_handlers.items()
        if key not in (500, Exception)
    }
    exceptions = ExceptionMiddleware(app.router, handlers=handlers, debug=app.debug)
    options: dict[str, Any] = dict(middleware[0].kwargs)
    lean = ServiceMiddleware(
        app.router,
        **options,
        exceptions=exceptions,
        standard=standard,
        routes=ExactRoutes(app.router),
    )
    if not getattr(app, "_is_instrumented_by_opentelemetry", False):
        return lean
    error_handler = app.exception_handlers.get(500) or app.exception_handlers.get(Exception)
    return ServerErrorMiddleware(lean, handler=error_handler, debug=app.debug)


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
    """Whether the request may carry a JSON body: one is framed (``Content-Length`` other than
    0, or ``Transfer-Encoding``; without either an HTTP/1.1 request has no body, so a GET's
    empty body is not awaited) and typed JSON or not typed (FastAPI parses it as JSON too)."""
    content_type: bytes | None = None
    framed = False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            if content_type is None:
                content_type = value
        elif name == b"content-length":
            framed = framed or value.strip() != b"0"
        elif name == b"transfer-encoding":
            framed = True
    return framed and (content_type is None or b"json" in content_type.lower())


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
