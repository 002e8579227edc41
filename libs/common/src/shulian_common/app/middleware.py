"""Request context: an id per request (echoed and logged), an access log, and a last-resort 500."""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shulian_common.errors import internal_error_response
from shulian_common.logs import bind_request_id, bind_service, reset_request_id, reset_service

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
        except Exception:
            logger.exception("unhandled error")
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
