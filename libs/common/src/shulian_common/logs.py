"""Logging: JSON lines on stderr carrying service, node, request id and the current trace ids.

The request id lives in a context variable that the request middleware sets, so every record
emitted while serving a request (in any logger) carries it; the trace and span ids come from
the current OpenTelemetry span, so logs and traces join on ``trace_id``.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

from shulian_common.settings import Settings

_request_id: ContextVar[str | None] = ContextVar("shulian_request_id", default=None)
# Several services may share one process (``shulian up``): each binds its own name for the
# requests and background tasks it runs, overriding the handler's defaults.
_service: ContextVar[tuple[str, str] | None] = ContextVar("shulian_service", default=None)

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged as a field.
# (uvicorn adds ``color_message``, a duplicate of the message with ANSI colours.)
_STANDARD_ATTRS = frozenset(
    {*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime", "color_message"}
)
# Loggers that print personal data below these levels, whatever the root level: aiosqlite the
# values bound to SQL statements at DEBUG (SQLAlchemy's own echo obeys ``hide_parameters``),
# httpx whole URLs, query strings included (a search for a phone number), at INFO.
_QUIET_LOGGERS = {"aiosqlite": logging.INFO, "httpx": logging.WARNING}
_CONTEXT_FIELDS = ("service", "node", "request_id", "trace_id", "span_id")
_PLAIN_FORMAT = (
    "%(asctime)s %(levelname)-7s %(name)s [%(service)s@%(node)s rid=%(request_id)s "
    "trace=%(trace_id)s] %(message)s"
)


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return _request_id.get()


def bind_request_id(request_id: str | None) -> Token[str | None]:
    """Set the current request id; pass the token to ``reset_request_id`` when done."""
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    """Restore the request id that was current before ``bind_request_id``."""
    _request_id.reset(token)


def bind_service(service: str, node: str) -> Token[tuple[str, str] | None]:
    """Name the service and node that records emitted in this context belong to."""
    return _service.set((service, node))


def reset_service(token: Token[tuple[str, str] | None]) -> None:
    """Restore the service names that were current before ``bind_service``."""
    _service.reset(token)


class ContextFilter(logging.Filter):
    """Adds service, node, request id and trace/span ids to every record it sees."""

    def __init__(self, *, service: str, node: str) -> None:
        super().__init__()
        self.service = service
        self.node = node

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate ``record``; never drops one."""
        record.service, record.node = _service.get() or (self.service, self.node)
        record.request_id = current_request_id()
        context = trace.get_current_span().get_span_context()
        record.trace_id = f"{context.trace_id:032x}" if context.is_valid else None
        record.span_id = f"{context.span_id:016x}" if context.is_valid else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; fields from ``extra=`` are kept, values that are not JSON
    become strings."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _CONTEXT_FIELDS:
            doc[name] = getattr(record, name, None)
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and name not in doc:
                doc[name] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class _ShulianHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler ``configure_logging`` installed, so calling it again replaces it."""


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Send the root logger to ``stream`` (stderr) as JSON lines, or plain text if not
    ``settings.log_json``; idempotent."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _ShulianHandler)]:
        root.removeHandler(handler)
    handler = _ShulianHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter(service=settings.service, node=settings.node_id))
    handler.setFormatter(JsonFormatter() if settings.log_json else logging.Formatter(_PLAIN_FORMAT))
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(level, root.level))
    return handler
